/**
 * bench/serving-overhead: what `ferry serve` adds to the same work in a bare fastify handler (issue 16,
 * targets 1 and 4), measured the way bench/experiments measures: every server runs side by side and
 * is loaded in short interleaved slices (wrk, one thread), round after round in a rotated order,
 * and each ratio is the median over rounds of two slices of the same round. bench/serving measures
 * each scenario once, minutes apart, and its ceilings moved by 2x between runs on this VM.
 *
 * Servers: a bare fastify POST (hello), a bare fastify handler calling the same model artifact (and
 * the same handler answering in the check phase, as Ferry's batcher does: model-handler-per-turn.mjs,
 * which also has a bare v2 infer route), a bare fastify GET reading the same stored-prediction row
 * with one prepared statement, Ferry with the cache and the prediction log off, and Ferry with its
 * defaults (memory cache, SQLite log).
 * Throughput at 64 connections, lookups at 16, and the tail (p99) at 1 and 16 connections beside
 * the bare servers' own, which is this machine's floor.
 * Run: npm run bench:serving-overhead   (BENCH_SECONDS=4 a slice, BENCH_ROUNDS=4; DATASET_DIR)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseLabeledDataset } from '../src/train/dataset.js';
import { readProjects, registerQuickModel, writeProjectsInput } from './lib/bench-data.js';
import { interleave } from './lib/interleave.js';
import type { LoadResult } from './lib/processes.js';
import { stopProcess, waitForAddress } from './lib/processes.js';
import { median } from './lib/stats.js';
import { ensureWrk, wrkGet, wrkPost } from './lib/wrk.js';

const ROOT = resolve(import.meta.dirname, '..');
const FERRY = join(ROOT, 'dist/cli/index.js');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const dataDir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');

execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
ensureWrk();

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const home = mkdtempSync(join(tmpdir(), 'ferry-bench-overhead-'));
const children: ChildProcess[] = [];
try {
  // One registry: the model, and stored predictions of 2,000 projects.csv rows (ids p-0 …).
  const base = join(home, 'base');
  const artifact = join(home, 'artifact.json');
  await registerQuickModel(base, dataDir, artifact);
  writeProjectsInput(join(home, 'input.csv'), readProjects(dataDir), 2000);
  execFileSync(process.execPath, [FERRY, 'batch', 'predict', '--input-loc', join(home, 'input.csv')], {
    cwd: ROOT,
    env: { ...process.env, FERRY_HOME: base },
    stdio: 'pipe',
  });
  // Each Ferry server has its own copy, so the defaults' log writes do not touch the lean one's file.
  for (const copy of ['lean', 'defaults']) cpSync(base, join(home, copy), { recursive: true });

  const serve = (copy: string, flags: string[]) =>
    start([FERRY, 'serve', '--host', '127.0.0.1', '--port', '0', ...flags], { FERRY_HOME: join(home, copy) });
  const listening = /listening (http:\/\/\S+)/;
  const launch = async (child: ChildProcess, pattern?: RegExp) => {
    children.push(child);
    return waitForAddress(child, pattern);
  };
  const hello = await launch(start([join(ROOT, 'bench/servers/hello.mjs')]), listening);
  const model = await launch(start([join(ROOT, 'bench/servers/model-handler.mjs'), artifact]), listening);
  const perTurn = await launch(
    start([join(ROOT, 'bench/servers/model-handler-per-turn.mjs'), artifact]),
    listening,
  );
  const lookup = await launch(
    start([join(ROOT, 'bench/servers/lookup-handler.mjs'), join(home, 'lean', 'ferry.db')]),
    listening,
  );
  const lean = await launch(serve('lean', ['--cache', 'off', '--prediction-log', 'off']));
  const defaults = await launch(serve('defaults', []));

  const holdout = parseLabeledDataset(readFileSync(join(dataDir, 'holdout.csv')), 'holdout.csv').rows;
  const one = JSON.stringify({ title: holdout[0]!.title, description: holdout[0]!.description });
  const v2 = JSON.stringify({
    inputs: [
      { name: 'title', shape: [1], datatype: 'BYTES', data: [holdout[0]!.title] },
      { name: 'description', shape: [1], datatype: 'BYTES', data: [holdout[0]!.description] },
    ],
  });
  const post = (url: string, body: string, connections: number) => (warmupSeconds: number) =>
    wrkPost(url, body, { connections, seconds: SECONDS, warmupSeconds });
  const get = (url: string, connections: number) => (warmupSeconds: number) =>
    wrkGet(url, { connections, seconds: SECONDS, warmupSeconds });
  const stored = '/v1/predictions/tagifai/p-1234';

  const targets = [
    { name: 'bare fastify POST, 64 conn', measure: post(`${hello}/predict`, one, 64) },
    { name: 'bare model handler, 64 conn', measure: post(`${model}/predict`, one, 64) },
    { name: 'bare model, per turn, 64 conn', measure: post(`${perTurn}/predict`, one, 64) },
    {
      name: 'bare v2 handler, per turn, 64 conn',
      measure: post(`${perTurn}/v2/models/tagifai/infer`, v2, 64),
    },
    { name: 'ferry /predict (cache, log off), 64', measure: post(`${lean}/predict`, one, 64) },
    { name: 'ferry v2 infer (cache, log off), 64', measure: post(`${lean}/v2/models/tagifai/infer`, v2, 64) },
    { name: 'ferry /predict (defaults), 64 conn', measure: post(`${defaults}/predict`, one, 64) },
    { name: 'bare lookup handler, 16 conn', measure: get(`${lookup}${stored}`, 16) },
    { name: 'ferry lookup (cache, log off), 16', measure: get(`${lean}${stored}`, 16) },
    { name: 'bare fastify POST, 1 conn', measure: post(`${hello}/predict`, one, 1) },
    { name: 'bare model handler, 1 conn', measure: post(`${model}/predict`, one, 1) },
    { name: 'ferry /predict (cache, log off), 1', measure: post(`${lean}/predict`, one, 1) },
    { name: 'ferry /predict (defaults), 1 conn', measure: post(`${defaults}/predict`, one, 1) },
    { name: 'bare fastify POST, 16 conn', measure: post(`${hello}/predict`, one, 16) },
    { name: 'bare model handler, 16 conn', measure: post(`${model}/predict`, one, 16) },
    { name: 'ferry /predict (cache, log off), 16', measure: post(`${lean}/predict`, one, 16) },
    { name: 'ferry /predict (defaults), 16 conn', measure: post(`${defaults}/predict`, one, 16) },
  ];
  const slices: LoadResult[][] = await interleave(targets, ROUNDS);
  const at = (name: string) => slices[targets.findIndex((t) => t.name === name)]!;
  /** Median over rounds of a's rate over b's in the same round. */
  const ratio = (a: string, b: string) => median(at(a).map((r, round) => r.rps / at(b)[round]!.rps));
  const p99 = (name: string) => median(at(name).map((r) => r.p99));

  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(40) : x.padStart(13))).join('');
  console.log(
    `\nbench/serving-overhead: wrk 1 thread, ${ROUNDS} rounds of ${SECONDS} s slices, servers side by side, one repeated body\n`,
  );
  console.log(line(['target', 'median req/s', 'min–max', 'p50 ms', 'p99 ms', 'errors']));
  targets.forEach((t, i) => {
    const runs = slices[i]!;
    const rps = runs.map((r) => r.rps);
    console.log(
      line([
        t.name,
        median(rps).toFixed(0),
        `${Math.min(...rps).toFixed(0)}–${Math.max(...rps).toFixed(0)}`,
        median(runs.map((r) => r.p50)).toFixed(2),
        median(runs.map((r) => r.p99)).toFixed(2),
        String(runs.reduce((n, r) => n + r.errors, 0)),
      ]),
    );
  });
  const bareModel = 'bare model handler, 64 conn';
  const perTurnModel = 'bare model, per turn, 64 conn';
  const perTurnV2 = 'bare v2 handler, per turn, 64 conn';
  const pairs: [string, string][] = [
    ['ferry /predict (cache, log off), 64', bareModel],
    ['ferry v2 infer (cache, log off), 64', bareModel],
    ['ferry /predict (cache, log off), 64', perTurnModel],
    ['ferry v2 infer (cache, log off), 64', perTurnModel],
    ['ferry v2 infer (cache, log off), 64', perTurnV2],
    [perTurnModel, bareModel],
    ['ferry /predict (defaults), 64 conn', bareModel],
    [bareModel, 'bare fastify POST, 64 conn'],
    ['ferry lookup (cache, log off), 16', 'bare lookup handler, 16 conn'],
  ];
  console.log('\nper round, req/s of the first over the second in the same round (median):');
  for (const [a, b] of pairs) {
    const perRound = at(a).map((r, round) => (r.rps / at(b)[round]!.rps).toFixed(2));
    console.log(`  ${a} / ${b}: ${perRound.join('  ')}  median ${ratio(a, b).toFixed(2)}`);
  }
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const single = ratio('ferry /predict (cache, log off), 64', bareModel);
  const infer = ratio('ferry v2 infer (cache, log off), 64', bareModel);
  const singleTurn = ratio('ferry /predict (cache, log off), 64', perTurnModel);
  const inferTurn = ratio('ferry v2 infer (cache, log off), 64', perTurnModel);
  const inferTurnV2 = ratio('ferry v2 infer (cache, log off), 64', perTurnV2);
  console.log(
    [
      '\ntargets (issue 16):',
      `1. /predict >= 0.9 of the bare model handler: ${single.toFixed(2)} ${verdict(single >= 0.9)}; v2 infer: ${infer.toFixed(2)} ${verdict(infer >= 0.9)}; p99 <= 5 ms at 64 connections: ${p99('ferry /predict (cache, log off), 64').toFixed(2)} ${verdict(p99('ferry /predict (cache, log off), 64') <= 5)}`,
      `   against the same handler answering per turn (Ferry's structure): /predict ${singleTurn.toFixed(2)}, v2 infer ${inferTurn.toFixed(2)} (${inferTurnV2.toFixed(2)} of the bare v2 handler, per turn)`,
      `   defaults p99 <= 2 ms at 1 connection: ${p99('ferry /predict (defaults), 1 conn').toFixed(2)} ${verdict(p99('ferry /predict (defaults), 1 conn') <= 2)} (bare fastify ${p99('bare fastify POST, 1 conn').toFixed(2)}, bare model ${p99('bare model handler, 1 conn').toFixed(2)}); at 16: ${p99('ferry /predict (defaults), 16 conn').toFixed(2)} ${verdict(p99('ferry /predict (defaults), 16 conn') <= 2)} (bare fastify ${p99('bare fastify POST, 16 conn').toFixed(2)}, bare model ${p99('bare model handler, 16 conn').toFixed(2)})`,
      `4. lookup p99 <= 2 ms at 16 connections: ${p99('ferry lookup (cache, log off), 16').toFixed(2)} ${verdict(p99('ferry lookup (cache, log off), 16') <= 2)} (bare lookup ${p99('bare lookup handler, 16 conn').toFixed(2)}, bare fastify POST ${p99('bare fastify POST, 16 conn').toFixed(2)})`,
    ].join('\n'),
  );
} finally {
  await Promise.all(children.map((c) => stopProcess(c)));
  rmSync(home, { recursive: true, force: true });
}
