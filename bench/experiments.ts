/**
 * bench/experiments: the serving benchmark's single-item /predict (unit ids from a pool of 10,000)
 * with no experiment, with an A/B test, with a canary and with a shadow running; requests/s and p99
 * of each and the ratio to no experiment, under wrk (one thread, 64 connections, warmed up).
 * Run: npm run bench:experiments   (BENCH_SECONDS=10)
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openFerry } from '../src/app/open-ferry.js';
import { loadConfig } from '../src/core/config.js';
import { parseLabeledDataset } from '../src/train/dataset.js';
import { trainTextClassifier } from '../src/train/pipeline.js';
import { registerTrained } from '../src/train/register-trained.js';
import { QUICK_GRID } from '../src/train/tune.js';
import { stopProcess, waitForAddress } from './lib/processes.js';
import { ensureWrk, wrkPost } from './lib/wrk.js';

const ROOT = resolve(import.meta.dirname, '..');
const FERRY = join(ROOT, 'dist/cli/index.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const dataDir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');

execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });

ensureWrk();

function load(url: string, body: string): Promise<{ rps: number; p99: number; errors: number }> {
  return wrkPost(url, body, { connections: 64, seconds: SECONDS, units: 10_000 });
}

const home = mkdtempSync(join(tmpdir(), 'ferry-bench-exp-'));
try {
  const data = parseLabeledDataset(readFileSync(join(dataDir, 'dataset.csv')), 'dataset.csv');
  const ctx = await openFerry(loadConfig({}, { home }));
  for (const seed of [42, 7]) {
    const outcome = trainTextClassifier(data, { seed, grid: QUICK_GRID, folds: 3, refitOnAll: false });
    await registerTrained(ctx.registry, outcome, {
      name: 'tagifai',
      promote: seed === 42,
      force: true,
      alias: 'production',
      gitCommit: null,
    });
  }
  await ctx.close();
  const holdout = parseLabeledDataset(readFileSync(join(dataDir, 'holdout.csv')), 'holdout.csv').rows;
  const body = JSON.stringify({ title: holdout[0]!.title, description: holdout[0]!.description });

  const definitions: Record<string, unknown> = {
    'A/B test (50/50, v1 vs v2)': {
      name: 'bench-ab',
      type: 'ab',
      model: 'tagifai',
      arms: [
        { name: 'control', version: 1, weight: 0.5 },
        { name: 'treatment', version: 2, weight: 0.5 },
      ],
      metrics: [{ name: 'accepted', kind: 'binary' }],
    },
    'canary (v2 at its first step, 5 %)': {
      name: 'bench-canary',
      type: 'canary',
      model: 'tagifai',
      arms: [
        { name: 'production', version: 1 },
        { name: 'canary', version: 2 },
      ],
      metrics: [{ name: 'accepted', kind: 'binary' }],
      canary: {
        steps: [0.05, 0.25, 0.5, 1],
        minRequestsPerStep: 1_000_000_000,
        minStepDurationMs: 3_600_000,
      },
    },
    'shadow (v2 mirrored, every request)': {
      name: 'bench-shadow',
      type: 'shadow',
      model: 'tagifai',
      arms: [
        { name: 'production', version: 1 },
        { name: 'shadow', version: 2 },
      ],
      metrics: [{ name: 'accepted', kind: 'binary' }],
    },
  };

  const rows: { name: string; rps: number; p99: number; errors: number }[] = [];
  const scenario = async (name: string, def?: unknown) => {
    if (def) {
      const file = join(home, 'def.json');
      writeFileSync(file, JSON.stringify(def));
      execFileSync(process.execPath, [FERRY, 'experiments', 'create', '--file', file], {
        cwd: ROOT,
        env: { ...process.env, FERRY_HOME: home },
        stdio: 'pipe',
      });
    }
    const server = spawn(
      process.execPath,
      [FERRY, 'serve', '--host', '127.0.0.1', '--port', '0', '--cache', 'off', '--prediction-log', 'off'],
      {
        cwd: ROOT,
        env: { ...process.env, FERRY_HOME: home },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      const url = await waitForAddress(server);
      process.stderr.write(`running: ${name}\n`);
      rows.push({ name, ...(await load(`${url}/predict`, body)) });
    } finally {
      await stopProcess(server);
    }
    if (def) {
      execFileSync(process.execPath, [FERRY, 'experiments', 'stop', (def as { name: string }).name], {
        cwd: ROOT,
        env: { ...process.env, FERRY_HOME: home },
        stdio: 'pipe',
      });
    }
  };
  await scenario('no experiment');
  for (const [name, def] of Object.entries(definitions)) await scenario(name, def);
  // The baseline again, last: on this 2-core machine the first server measured has been slower
  // than later ones; the ratios use the mean of both baseline runs, and both are printed.
  await scenario('no experiment (again, last)');

  const base = (rows[0]!.rps + rows[rows.length - 1]!.rps) / 2;
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(40) : x.padStart(12))).join('');
  console.log(
    `\nbench/experiments: /predict 1 item, 64 connections, ${SECONDS} s each, cache and log off, 2-core machine\n`,
  );
  console.log(line(['scenario', 'req/s', 'p99 ms', 'vs none', 'errors']));
  for (const r of rows)
    console.log(line([r.name, r.rps.toFixed(0), String(r.p99), (r.rps / base).toFixed(2), String(r.errors)]));
  const ab = rows[1]!.rps / base;
  const canary = rows[2]!.rps / base;
  const shadow = rows[3]!.rps / base;
  console.log(
    `\ntargets: routing costs < 10 %: A/B ${((1 - ab) * 100).toFixed(1)} %, canary ${((1 - canary) * 100).toFixed(1)} % ${Math.max(1 - ab, 1 - canary) < 0.1 ? 'met' : 'NOT met'}; shadowing < 25 %: ${((1 - shadow) * 100).toFixed(1)} % ${1 - shadow < 0.25 ? 'met' : 'NOT met'}`,
  );
} finally {
  rmSync(home, { recursive: true, force: true });
}
