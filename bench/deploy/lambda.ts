/**
 * bench/deploy/lambda: the Lambda bundle of `npm run build:lambda` measured on this machine.
 *
 * - size: the function folder (index.mjs + the sample-trained model) raw, and function.zip;
 * - cold start: a fresh `node` process imports the bundle (the model loads at init) and answers one
 *   HTTP API 2.0 POST /predict event; process spawn → first answer, seen from the parent; median of
 *   BENCH_COLD_RUNS (default 5). Lambda's own cold start adds fetching the package and starting the
 *   runtime, which cannot be measured here;
 * - warm: BENCH_WARM_CALLS (default 2000) sequential invocations of the imported handler (as warm
 *   invocations of one container are: one at a time), POST /predict and v2 infer, p50 and p99;
 * - baseline: the same model's `predict` on the same item called directly, in the same run.
 *
 * Run: npm run bench:deploy:lambda   (writes bench/out/lambda.json)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildLambda } from '../../scripts/build-lambda.js';
import { decodeModel } from '../../src/model/codec.js';

const ROOT = resolve(import.meta.dirname, '../..');
const OUT = join(ROOT, 'bench', 'out');
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 5);
const WARM_CALLS = Number(process.env.BENCH_WARM_CALLS ?? 2000);

const ITEM = {
  title: 'Transfer learning with transformers',
  description: 'Using transformers for transfer learning on text classification tasks.',
};

function v2Event(method: string, path: string, body: string): Record<string, unknown> {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    requestContext: {
      requestId: 'bench',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1' },
    },
    body,
    isBase64Encoded: false,
  };
}

const predictEvent = v2Event('POST', '/predict', JSON.stringify(ITEM));
const inferEvent = v2Event(
  'POST',
  '/v2/models/tagifai/infer',
  JSON.stringify({
    inputs: [
      { name: 'title', datatype: 'BYTES', shape: [1], data: [ITEM.title] },
      { name: 'description', datatype: 'BYTES', shape: [1], data: [ITEM.description] },
    ],
  }),
);

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function stats(ms: number[]): { p50: number; p99: number; mean: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
}

interface ColdRun {
  /** Parent's view: spawn → the answer line on stdout. */
  wallMs: number;
  /** Child's view (performance.now(), from process start): import done (init), answer. */
  initMs: number;
  answerMs: number;
}

function coldStart(bundle: string): Promise<ColdRun> {
  const program = `
const { handler } = await import(${JSON.stringify(pathToFileURL(bundle).href)});
const initMs = performance.now();
const a = await handler(${JSON.stringify(predictEvent)}, {});
const answerMs = performance.now();
if (a.statusCode !== 200) throw new Error('status ' + a.statusCode);
process.stdout.write(JSON.stringify({ initMs, answerMs }) + '\\n');`;
  return new Promise((done, fail) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', program], {
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    let wallMs: number | undefined;
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      if (wallMs === undefined && text.includes('\n')) wallMs = performance.now() - start;
    });
    child.on('error', fail);
    child.on('exit', (code) => {
      if (code !== 0 || wallMs === undefined) return fail(new Error(`cold start run exited ${code}`));
      const inner = JSON.parse(text.trim().split('\n')[0]!) as { initMs: number; answerMs: number };
      done({ wallMs, ...inner });
    });
  });
}

function median(xs: number[]): number {
  return quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );
}

const f = (n: number, d = 2) => n.toFixed(d);
const mib = (n: number) => `${f(n / 1024 / 1024)} MiB`;

const buildStart = performance.now();
const build = await buildLambda({ out: join(OUT, 'lambda') });
const buildMs = performance.now() - buildStart;
const bundle = join(build.dir, 'index.mjs');

const cold: ColdRun[] = [];
for (let i = 0; i < COLD_RUNS; i++) cold.push(await coldStart(bundle));

type Handler = (event: unknown, context?: unknown) => Promise<{ statusCode: number }>;
const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: Handler };
const model = decodeModel(new Uint8Array(readFileSync(join(build.dir, 'model', 'model.bin'))));

async function timeCalls(call: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 200; i++) await call(); // warm-up: JIT, caches
  const ms: number[] = [];
  for (let i = 0; i < WARM_CALLS; i++) {
    const t = performance.now();
    await call();
    ms.push(performance.now() - t);
  }
  return ms;
}

const check = async (event: unknown) => {
  const a = await handler(event, {});
  if (a.statusCode !== 200) throw new Error(`status ${a.statusCode}`);
};
const baseline = stats(await timeCalls(() => model.predict([ITEM])));
const warmPredict = stats(await timeCalls(() => check(predictEvent)));
const warmInfer = stats(await timeCalls(() => check(inferEvent)));

const result = {
  at: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  loadavg1: loadavg()[0],
  model: { name: build.manifest?.name, kind: build.manifest?.kind, bytes: build.modelBytes },
  size: { handlerBytes: build.handlerBytes, rawBytes: build.rawBytes, zipBytes: build.zipBytes },
  buildMs,
  cold: {
    runs: cold,
    medianWallMs: median(cold.map((c) => c.wallMs)),
    medianInitMs: median(cold.map((c) => c.initMs)),
    medianAnswerMs: median(cold.map((c) => c.answerMs)),
  },
  warm: { calls: WARM_CALLS, predict: warmPredict, infer: warmInfer },
  baseline: { calls: WARM_CALLS, predict: baseline },
};
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'lambda.json'), `${JSON.stringify(result, null, 2)}\n`);

process.stdout.write(
  [
    `Lambda bundle (node ${process.version}, ${cpus().length} CPUs, load ${f(loadavg()[0] ?? 0)})`,
    `size     handler ${mib(build.handlerBytes)}, model ${mib(build.modelBytes)}, raw ${mib(build.rawBytes)}, zipped ${mib(build.zipBytes)} (build ${f(buildMs / 1000, 1)} s)`,
    `cold     spawn → first answer, median of ${COLD_RUNS}: ${f(result.cold.medianWallMs, 0)} ms (in the child: init done at ${f(result.cold.medianInitMs, 0)} ms, answer at ${f(result.cold.medianAnswerMs, 0)} ms)`,
    `warm     POST /predict       p50 ${f(warmPredict.p50, 3)} ms  p99 ${f(warmPredict.p99, 3)} ms  (${WARM_CALLS} sequential invocations)`,
    `warm     POST /v2/…/infer    p50 ${f(warmInfer.p50, 3)} ms  p99 ${f(warmInfer.p99, 3)} ms`,
    `baseline model.predict       p50 ${f(baseline.p50, 3)} ms  p99 ${f(baseline.p99, 3)} ms  (same item, same run)`,
    `written  bench/out/lambda.json`,
    '',
  ].join('\n'),
);
