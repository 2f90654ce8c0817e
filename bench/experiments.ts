/**
 * bench/experiments: the serving benchmark's single-item /predict (unit ids from a pool of 10,000)
 * with no experiment, with an A/B test, with a canary and with a shadow running, under wrk (one
 * thread, 64 connections). On this 2-core VM the same server measured twice minutes apart has
 * differed by 50 %, so one run per scenario decides nothing: the four servers (each its own
 * FERRY_HOME holding the same two versions and its experiment) run side by side and are measured
 * in short interleaved slices, round after round, each round in a rotated order; the cost of a
 * scenario is the median over rounds of its rate over the no-experiment rate of the same round.
 * Run: npm run bench:experiments   (BENCH_SECONDS=5 a slice, BENCH_ROUNDS=6, BENCH_CPU_PROF=dir)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openFerry } from '../src/app/open-ferry.js';
import { loadConfig } from '../src/core/config.js';
import { parseLabeledDataset } from '../src/train/dataset.js';
import { trainTextClassifier } from '../src/train/pipeline.js';
import { registerTrained } from '../src/train/register-trained.js';
import { QUICK_GRID } from '../src/train/tune.js';
import { interleave } from './lib/interleave.js';
import { stopProcess, waitForAddress } from './lib/processes.js';
import { median } from './lib/stats.js';
import { ensureWrk, wrkPost } from './lib/wrk.js';

const ROOT = resolve(import.meta.dirname, '..');
const FERRY = join(ROOT, 'dist/cli/index.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const dataDir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');

execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });

ensureWrk();

function load(url: string, body: string, warmupSeconds: number) {
  return wrkPost(url, body, { connections: 64, seconds: SECONDS, units: 10_000, warmupSeconds });
}

const home = mkdtempSync(join(tmpdir(), 'ferry-bench-exp-'));
try {
  const data = parseLabeledDataset(readFileSync(join(dataDir, 'dataset.csv')), 'dataset.csv');
  const ctx = await openFerry(loadConfig({}, { home: join(home, 'base') }));
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
    // Both arms on the same version: the routing alone (hash, exposure, lookups), without the cost
    // of serving a second model (its own batches, its weights competing for the caches).
    'A/B test, both arms on v1 (routing alone)': {
      name: 'bench-ab-same',
      type: 'ab',
      model: 'tagifai',
      arms: [
        { name: 'control', version: 1, weight: 0.5 },
        { name: 'treatment', version: 1, weight: 0.5 },
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

  const scenarios: { name: string; def?: unknown }[] = [
    { name: 'no experiment' },
    ...Object.entries(definitions).map(([name, def]) => ({ name, def })),
  ];
  const servers: { name: string; server: ChildProcess; url: string }[] = [];
  try {
    for (const [i, { name, def }] of scenarios.entries()) {
      const own = join(home, `scenario-${i}`);
      cpSync(join(home, 'base'), own, { recursive: true });
      const env = { ...process.env, FERRY_HOME: own };
      if (def) {
        const file = join(own, 'def.json');
        writeFileSync(file, JSON.stringify(def));
        execFileSync(process.execPath, [FERRY, 'experiments', 'create', '--file', file], {
          cwd: ROOT,
          env,
          stdio: 'pipe',
        });
      }
      const server = spawn(
        process.execPath,
        [
          // BENCH_CPU_PROF=dir: each server writes a V8 CPU profile there when it stops.
          ...(process.env.BENCH_CPU_PROF
            ? [
                '--cpu-prof',
                `--cpu-prof-dir=${resolve(process.env.BENCH_CPU_PROF)}`,
                `--cpu-prof-name=${i}-${def ? (def as { type: string }).type : 'none'}.cpuprofile`,
              ]
            : []),
          FERRY,
          'serve',
          '--host',
          '127.0.0.1',
          '--port',
          '0',
          '--cache',
          'off',
          '--prediction-log',
          'off',
        ],
        { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      servers.push({ name, server, url: await waitForAddress(server) });
    }

    const slices = await interleave(
      servers.map(({ name, url }) => ({ name, measure: (warmup) => load(`${url}/predict`, body, warmup) })),
      ROUNDS,
    );

    const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(40) : x.padStart(14))).join('');
    console.log(
      `\nbench/experiments: /predict 1 item, wrk 1 thread, 64 connections, ${ROUNDS} rounds of ${SECONDS} s slices, cache and log off, ${ROUNDS * servers.length * SECONDS} s measured\n`,
    );
    console.log(line(['scenario', 'median req/s', 'min–max', 'median p99 ms', 'vs none', 'errors']));
    const cost: number[] = [];
    slices.forEach((runs, i) => {
      const paired = runs.map((r, round) => r.rps / slices[0]![round]!.rps);
      cost.push(1 - median(paired));
      const rps = runs.map((r) => r.rps);
      console.log(
        line([
          servers[i]!.name,
          median(rps).toFixed(0),
          `${Math.min(...rps).toFixed(0)}–${Math.max(...rps).toFixed(0)}`,
          median(runs.map((r) => r.p99)).toFixed(2),
          median(paired).toFixed(3),
          String(runs.reduce((n, r) => n + r.errors, 0)),
        ]),
      );
    });
    console.log('\nper round, req/s of each scenario over no experiment in the same round:');
    slices.forEach((runs, i) => {
      if (i > 0)
        console.log(
          `  ${servers[i]!.name.padEnd(38)} ${runs.map((r, round) => (r.rps / slices[0]![round]!.rps).toFixed(2)).join('  ')}`,
        );
    });
    const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
    const [, ab, abSame, canary, shadow] = cost as [number, number, number, number, number];
    const routing = Math.max(ab, canary);
    console.log(
      `\ntargets (issue 16): routing cost <= 5 %: A/B ${pct(ab)} (its routing alone ${pct(abSame)}), canary ${pct(canary)}: ${routing <= 0.05 ? 'met' : 'NOT met'}; shadowing <= 15 %: ${pct(shadow)}: ${shadow <= 0.15 ? 'met' : 'NOT met'}`,
    );
  } finally {
    await Promise.all(servers.map(({ server }) => stopProcess(server)));
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
