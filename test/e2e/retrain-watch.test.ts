import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SAMPLE_DATASET_PATH } from '../../src/train/load-dataset.js';
import { runCli } from '../helpers/cli.js';
import { SOURCE_NODE_ARGS } from '../helpers/source-node-args.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const ROOT = resolve(import.meta.dirname, '../..');
const home = tmpDir('ferry-retrain-watch-');
const env = {
  ...process.env,
  FORCE_COLOR: '0',
  FERRY_HOME: home.path,
  DATASET_LOC: undefined,
  FERRY_DB: undefined,
};

afterAll(() => home.remove());

describe('ferry retrain --watch', () => {
  it('retrains on its cron schedule, one run at a time, until SIGTERM, then exits 0', async () => {
    const child = spawn(
      // node itself (not the tsx wrapper), so SIGTERM reaches the CLI's handler.
      process.execPath,
      [
        ...SOURCE_NODE_ARGS,
        resolve(ROOT, 'src/cli/index.ts'),
        'retrain',
        '--watch',
        '--schedule',
        '*/2 * * * * *',
        '--dataset-loc',
        SAMPLE_DATASET_PATH,
        '--min-eval-rows',
        '20',
      ],
      { cwd: ROOT, env: { ...env, FERRY_LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    // Two finished runs, then stop.
    const deadline = Date.now() + 90_000;
    while ((out.match(/retrain: passed|retrain: refused/g) ?? []).length < 2 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
    }
    child.kill('SIGTERM');
    expect(await exited, out).toBe(0);
    expect(out).toContain('retrain: watching');
    expect(out).toContain('retrain: stopped');
    const history = JSON.parse((await runCli(['retrain', 'history', '--json'], env)).stdout) as Array<{
      trigger: string;
      status: string;
      startedAt: string;
      finishedAt: string;
    }>;
    const done = history.filter((h) => h.status !== 'running').reverse();
    expect(done.length).toBeGreaterThanOrEqual(2);
    expect(done.every((h) => h.trigger === 'schedule: */2 * * * * *')).toBe(true);
    // Never two at once: each run started after the previous one finished.
    for (let i = 1; i < done.length; i++) expect(done[i]!.startedAt >= done[i - 1]!.finishedAt).toBe(true);
  }, 120_000);
});
