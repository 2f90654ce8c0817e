import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // CI's machine is a VM that can be paused or snapshotted mid-run; its clock then jumps and every
    // test in flight sees its timer fire at once (CI failed that way with three tests that take
    // under 2 s each). A longer limit in CI survives such a pause; one retry covers a longer one.
    testTimeout: process.env.CI ? 180_000 : 60_000,
    hookTimeout: process.env.CI ? 180_000 : 60_000,
    retry: process.env.CI ? 1 : 0,
    pool: 'forks',
    fileParallelism: true,
    // Two test files at a time on the 2-core machine. Three cut vitest from 999 s to 855 s on
    // 2026-12-07, but the contention made a timing-bound canary test roll back (p99 296 ms).
    maxWorkers: 2,
    // Source code that starts a worker thread on a .ts file (the batch job's predictor) needs a
    // TypeScript loader in that thread: workers run the process's --import preloads, and this one
    // registers tsx there (tests only; the built code's worker is plain JavaScript).
    execArgv: ['--import', 'tsx', '--import', './test/helpers/tsx-in-workers.mjs'],
    projects: [
      {
        // The unit tests share their worker processes: a fresh process per file (start, tsx, the
        // imports) cost more than most of these files' tests (test/unit alone: 134 s isolated,
        // 74 s shared, on 2026-12-07). They start no server and leave nothing running.
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], isolate: false },
      },
      {
        // Everything else starts servers, processes and timers, and some of it is timing-bound:
        // each file in its own process. Sharing them too (556 s instead of 827 s) failed a shadow
        // latency test and a Redis command timeout, twice each.
        extends: true,
        test: { name: 'integration', include: ['test/**/*.test.ts'], exclude: ['test/unit/**'] },
      },
    ],
  },
});
