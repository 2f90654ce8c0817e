import { afterAll, describe, expect, it } from 'vitest';
import { errorCode, runCli } from '../helpers/cli.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const home = tmpDir('ferry-check-');
const cli = (...args: string[]) => runCli(args, { FERRY_HOME: home.path, FERRY_CACHE_DIR: undefined });
afterAll(() => home.remove());

describe('ferry models check', () => {
  it('passes the example: a ✓ per check, exit 0', async () => {
    const r = await cli('models', 'check', 'examples/custom-model');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.match(/✓/g)).toHaveLength(8);
    expect(r.stdout).toContain('8 of 8 checks passed');
  });

  it('a broken model: ✗ on the failed checks, FERRY_MODEL_CHECK_FAILED, exit 1; --json prints the report', async () => {
    const r = await cli('models', 'check', 'test/fixtures/custom-models/batch-dependent.mjs');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✗ batch of 1 and batch of N agree {2}row 0 alone differs/);
    expect(errorCode(r)).toBe('FERRY_MODEL_CHECK_FAILED');

    const j = await cli('models', 'check', 'test/fixtures/custom-models/throws-at-load.mjs', '--json');
    expect(j.code).toBe(1);
    const report = JSON.parse(j.stdout) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'loads')!.ok).toBe(false);
  });
});
