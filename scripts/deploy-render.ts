/**
 * `npm run deploy:render -- --write` renders every deployment target with the defaults into the
 * place this repository commits it (each target's `committedOut`); without `--write` it only says
 * which files differ. test/unit/deploy/committed-files.test.ts fails when they drift.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { FERRY_VERSION } from '../src/core/version.js';
import { parseDeployOptions } from '../src/deploy/deploy-options.js';
import { deployTargetSpecs } from '../src/deploy/targets.js';
import { writeRendered } from '../src/deploy/write-rendered.js';

const ROOT = resolve(import.meta.dirname, '..');
const write = process.argv.includes('--write');
let stale = 0;
for (const spec of deployTargetSpecs()) {
  const files = spec.render(parseDeployOptions({}, FERRY_VERSION));
  for (const f of files) {
    const path = join(ROOT, spec.committedOut, f.path);
    const now = await readFile(path, 'utf8').catch(() => undefined);
    if (now !== f.content) {
      stale++;
      process.stdout.write(`${write ? 'writing' : 'stale'} ${join(spec.committedOut, f.path)}\n`);
    }
  }
  if (write) await writeRendered(join(ROOT, spec.committedOut), files, { force: true });
}
if (!write && stale > 0) process.exitCode = 1;
