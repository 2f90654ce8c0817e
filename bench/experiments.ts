/**
 * bench/experiments: the serving benchmark's single-item /predict (unit ids from a pool of 10,000)
 * with no experiment, with an A/B test, with a canary and with a shadow running, under wrk (one
 * thread, 64 connections). On this 2-core VM the same server measured twice minutes apart has
 * differed by 50 %, so one run per scenario decides nothing: the four servers (each its own
 * FERRY_HOME holding the same two versions and its experiment) run side by side and are measured
 * in short interleaved slices, round after round, each round in a rotated order; the cost of a
 * scenario is the median over rounds of its rate over the no-experiment rate of the same round.
 * Beside the rate, each slice reads from /proc the CPU the server's process and its main thread
 * spent during it, so the cost is also given as CPU a request (the time a server waited for a core
 * while wrk or a neighbour held it does not count there).
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
import { type LoadResult, stopProcess, waitForAddress } from './lib/processes.js';
import { median } from './lib/stats.js';
import { ensureWrk, wrkPost } from './lib/wrk.js';

const ROOT = resolve(import.meta.dirname, '..');
const FERRY = join(ROOT, 'dist/cli/index.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const dataDir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');

execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });

ensureWrk();

function load(url: string, body: string, warmupSeconds: number, pid: number | undefined) {
  return wrkPost(url, body, {
    connections: 64,
    seconds: SECONDS,
    units: 10_000,
    warmupSeconds,
    ...(pid === undefined ? {} : { cpuOf: pid }),
  });
}

/** CPU microseconds a request, of the whole server process or of its main thread, in one slice. */
function cpuPerRequest(r: LoadResult, of: 'process' | 'mainThread'): number {
  return r.cpu && r.requests ? (r.cpu[of] * 1e6) / r.requests : Number.NaN;
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
      servers.map(({ name, url, server }) => ({
        name,
        measure: (warmup) => load(`${url}/predict`, body, warmup, server.pid),
      })),
      ROUNDS,
    );

    const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(42) : x.padStart(13))).join('');
    console.log(
      `\nbench/experiments: /predict 1 item, wrk 1 thread, 64 connections, ${ROUNDS} rounds of ${SECONDS} s slices, cache and log off, ${ROUNDS * servers.length * SECONDS} s measured\n`,
    );
    // Two measures of a scenario's cost, each the median over rounds of a ratio to the
    // no-experiment server in the same round: its rate (what the issue states), and the CPU its
    // process and its main thread spent a request (/proc, during the measured slice). The rate
    // moves with whatever else holds the two cores; CPU a request does not count time the server
    // waited for a core, so it spreads less from round to round.
    const ratio = (i: number, of: (r: LoadResult) => number) =>
      slices[i]!.map((r, round) => of(r) / of(slices[0]![round]!));
    const perProcess = (r: LoadResult) => cpuPerRequest(r, 'process');
    const perMain = (r: LoadResult) => cpuPerRequest(r, 'mainThread');
    console.log(
      line([
        'scenario',
        'median req/s',
        'min–max',
        'p99 ms',
        'vs none',
        'CPU µs/req',
        'vs none',
        'main µs/req',
        'vs none',
        'errors',
      ]),
    );
    slices.forEach((runs, i) => {
      const rps = runs.map((r) => r.rps);
      console.log(
        line([
          servers[i]!.name,
          median(rps).toFixed(0),
          `${Math.min(...rps).toFixed(0)}–${Math.max(...rps).toFixed(0)}`,
          median(runs.map((r) => r.p99)).toFixed(2),
          median(ratio(i, (r) => r.rps)).toFixed(3),
          median(runs.map(perProcess)).toFixed(1),
          median(ratio(i, perProcess)).toFixed(3),
          median(runs.map(perMain)).toFixed(1),
          median(ratio(i, perMain)).toFixed(3),
          String(runs.reduce((n, r) => n + r.errors, 0)),
        ]),
      );
    });
    const perRound = (title: string, of: (r: LoadResult) => number) => {
      console.log(`\nper round, ${title} of each scenario over no experiment in the same round:`);
      for (let i = 1; i < slices.length; i++)
        console.log(
          `  ${servers[i]!.name.padEnd(40)} ${ratio(i, of)
            .map((x) => x.toFixed(2))
            .join('  ')}`,
        );
    };
    perRound('req/s', (r) => r.rps);
    perRound('process CPU a request', perProcess);
    perRound('main-thread CPU a request', perMain);

    const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
    // The cost as a share of throughput: 1 - rate ratio, and for CPU 1 - 1/(CPU ratio), the rate a
    // server bound by that CPU would lose.
    const rateCost = (i: number) => 1 - median(ratio(i, (r) => r.rps));
    const cpuCost = (i: number, of: (r: LoadResult) => number) => 1 - 1 / median(ratio(i, of));
    const verdict = (ab: number, canary: number, shadow: number) =>
      `A/B ${pct(ab)}, canary ${pct(canary)}: ${Math.max(ab, canary) <= 0.05 ? 'met' : 'NOT met'}; shadowing <= 15 %: ${pct(shadow)}: ${shadow <= 0.15 ? 'met' : 'NOT met'}`;
    const [AB, SAME, CANARY, SHADOW] = [1, 2, 3, 4];
    console.log(
      '\ntargets (issue 16): routing cost <= 5 % of throughput for A/B tests and canaries, shadowing <= 15 %',
    );
    console.log(
      `  by req/s:                  ${verdict(rateCost(AB), rateCost(CANARY), rateCost(SHADOW))} (A/B routing alone ${pct(rateCost(SAME))})`,
    );
    for (const [title, of] of [
      ['by process CPU a request: ', perProcess],
      ['by main-thread CPU a req.:', perMain],
    ] as const)
      console.log(
        `  ${title} ${verdict(cpuCost(AB, of), cpuCost(CANARY, of), cpuCost(SHADOW, of))} (A/B routing alone ${pct(cpuCost(SAME, of))})`,
      );
  } finally {
    await Promise.all(servers.map(({ server }) => stopProcess(server)));
  }
} finally {
  rmSync(home, { recursive: true, force: true });
}
