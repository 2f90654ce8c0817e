import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    // Source code that starts a worker thread on a .ts file (the batch job's predictor) needs a
    // TypeScript loader in that thread: workers run the process's --import preloads, and this one
    // registers tsx there (tests only; the built code's worker is plain JavaScript).
    execArgv: ['--import', 'tsx', '--import', './test/helpers/tsx-in-workers.mjs'],
  },
});
