import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FERRY_NODE_ARGS } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp-dir.js';

/*
 * Every `ferry` command pays for what the CLI loads before it parses its arguments. The HTTP stack
 * (fastify and its plugins), ONNX's protobuf and the YAML renderer load only in the commands that
 * use them (`serve`, `models export` and `optimize`, `deploy`): loaded for every command they made
 * `ferry --version` take 0.85 s instead of 0.5 (docs/benchmarks.md, "The CLI's start-up").
 * A module-resolution hook records every module the process resolves.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const dir = tmpDir('ferry-cli-startup-');
afterAll(() => dir.remove());

const HEAVY = [
  'node_modules/fastify/',
  'node_modules/@fastify/swagger',
  'node_modules/onnx-proto/',
  'node_modules/yaml/',
];

/** The URLs the process resolved while running `args` with node. */
function resolvedBy(args: readonly string[], name: string): string[] {
  const trace = join(dir.path, `${name}.txt`);
  const hook = join(dir.path, `${name}-hook.mjs`);
  const register = join(dir.path, `${name}-register.mjs`);
  writeFileSync(
    hook,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(trace)}, r.url + '\\n');
  return r;
}
`,
  );
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hook).href)});\n`,
  );
  writeFileSync(trace, '');
  const run = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(run.status, run.stderr).toBe(0);
  return readFileSync(trace, 'utf8').split('\n').filter(Boolean);
}

describe('the CLI start-up', () => {
  it('ferry --version loads neither the HTTP stack, nor ONNX protobuf, nor YAML', () => {
    const loaded = resolvedBy([...FERRY_NODE_ARGS, '--version'], 'version');
    expect(loaded.length).toBeGreaterThan(50);
    expect(HEAVY.filter((h) => loaded.some((url) => url.includes(h)))).toEqual([]);
  });

  it('the check sees them when they are loaded (serving wiring imported)', () => {
    const script = join(dir.path, 'import-serving.mjs');
    const target = pathToFileURL(join(ROOT, 'src/app/open-serving.ts')).href;
    writeFileSync(script, `await import(${JSON.stringify(target)});\n`);
    const loaded = resolvedBy(['--import', 'tsx', script], 'serving');
    expect(loaded.some((url) => url.includes('node_modules/fastify/'))).toBe(true);
  });
});
