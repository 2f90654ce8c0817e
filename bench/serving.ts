/**
 * bench/serving: requests/s and latency of `ferry serve` under wrk (C, one thread, 64 connections,
 * warmed up), against two ceilings measured in the same run: a bare fastify POST, and a bare
 * fastify handler calling the same model artifact (Ferry's overhead is what it adds to the latter).
 * Run: npm run bench:serving   (BENCH_SECONDS=10 by default; DATASET_DIR for the course data)
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseLabeledDataset } from '../src/train/dataset.js';
import { registerQuickModel } from './lib/bench-data.js';
import { stopProcess, waitForAddress } from './lib/processes.js';
import { ensureWrk, wrkPost } from './lib/wrk.js';

const ROOT = resolve(import.meta.dirname, '..');
// The server runs from the compiled build, as in production (tsx adds per-function wrappers).
const FERRY = join(ROOT, 'dist/cli/index.js');
execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
ensureWrk();
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = 64;
const dataDir = resolve(process.env.DATASET_DIR ?? '../shared/datasets/madewithml');

interface Result {
  name: string;
  rps: number;
  predsPerReq: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

function load(
  url: string,
  body: string,
  name: string,
  predsPerReq: number,
  connections = CONNECTIONS,
): Promise<Result> {
  return wrkPost(url, body, { connections, seconds: SECONDS }).then((r) => ({
    name,
    predsPerReq,
    ...r,
    non2xx: 0,
  }));
}

/** Runs a bench server script (`listening <url>` on stdout) for the duration of `fn`. */
async function withScript<T>(script: string, args: string[], fn: (url: string) => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, [join(ROOT, script), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    return await fn(await waitForAddress(child, /listening (http:\/\/\S+)/));
  } finally {
    await stopProcess(child);
  }
}

async function withFerry<T>(
  home: string,
  flags: string[],
  env: Record<string, string>,
  fn: (url: string) => Promise<T>,
): Promise<T> {
  const child = spawn(process.execPath, [FERRY, 'serve', '--host', '127.0.0.1', '--port', '0', ...flags], {
    cwd: ROOT,
    env: { ...process.env, FERRY_HOME: home, FERRY_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const address = await waitForAddress(child);
    return await fn(address);
  } finally {
    await stopProcess(child);
  }
}

async function withWorkers<T>(home: string, port: number, fn: (url: string) => Promise<T>): Promise<T> {
  const child = spawn(
    process.execPath,
    [
      FERRY,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--workers',
      '2',
      '--cache',
      'off',
      '--prediction-log',
      'off',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, FERRY_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    let seen = 0;
    await new Promise<void>((res, rej) => {
      const onData = (d: Buffer) => {
        seen += (d.toString().match(/ferry serving/g) ?? []).length;
        if (seen >= 2) res();
      };
      child.stdout?.on('data', onData);
      child.on('exit', (code) => rej(new Error(`workers exited ${code}`)));
    });
    return await fn(`http://127.0.0.1:${port}`);
  } finally {
    await stopProcess(child);
  }
}

const home = mkdtempSync(join(tmpdir(), 'ferry-bench-serving-'));
try {
  const artifactFile = join(home, 'production-artifact.json');
  await registerQuickModel(home, dataDir, artifactFile);

  const rows = parseLabeledDataset(readFileSync(join(dataDir, 'holdout.csv')), 'holdout.csv').rows;
  const one = JSON.stringify({ title: rows[0]!.title, description: rows[0]!.description });
  const batch32 = JSON.stringify({
    items: rows.slice(0, 32).map((r) => ({ title: r.title, description: r.description })),
  });
  const v2 = JSON.stringify({
    inputs: [
      { name: 'title', shape: [1], datatype: 'BYTES', data: [rows[0]!.title] },
      { name: 'description', shape: [1], datatype: 'BYTES', data: [rows[0]!.description] },
    ],
  });
  const results: Result[] = [];
  const run = async (label: string, fn: () => Promise<Result>) => {
    process.stderr.write(`running: ${label}\n`);
    results.push(await fn());
  };

  await withScript('bench/servers/hello.mjs', [], (url) =>
    run('ceiling', () => load(`${url}/predict`, one, 'ceiling: bare fastify POST', 1)),
  );
  await withScript('bench/servers/model-handler.mjs', [artifactFile], (url) =>
    run('bare model', () => load(`${url}/predict`, one, 'ceiling: bare fastify + the same model', 1)),
  );

  const noCache = ['--cache', 'off', '--prediction-log', 'off'];
  await withFerry(home, noCache, {}, async (url) => {
    await run('single', () => load(`${url}/predict`, one, '/predict 1 item (batching on, no cache)', 1));
    await run('batch32', () => load(`${url}/predict`, batch32, '/predict 32 items (batching on)', 32));
    await run('v2', () => load(`${url}/v2/models/tagifai/infer`, v2, 'v2 infer 1 item (batching on)', 1));
  });
  await withFerry(home, [...noCache, '--max-batch-size', '1'], {}, async (url) => {
    await run('single nobatch', () => load(`${url}/predict`, one, '/predict 1 item (batching off)', 1));
    await run('batch32 nobatch', () =>
      load(`${url}/predict`, batch32, '/predict 32 items (batching off)', 32),
    );
  });
  await withFerry(home, ['--cache', 'memory:', '--prediction-log', 'off'], {}, async (url) => {
    await run('cached', () => load(`${url}/predict`, one, '/predict 1 item, cache on (repeated input)', 1));
  });
  await withFerry(home, ['--cache', 'off', '--prediction-log', 'sql'], {}, async (url) => {
    await run('logged', () => load(`${url}/predict`, one, '/predict 1 item, prediction log to SQLite', 1));
  });
  await withFerry(home, [], {}, async (url) => {
    await run('defaults 1 conn', () =>
      load(`${url}/predict`, one, '/predict 1 item, defaults (SQLite log), 1 connection', 1, 1),
    );
    await run('defaults 16 conn', () =>
      load(`${url}/predict`, one, '/predict 1 item, defaults (SQLite log), 16 connections', 1, 16),
    );
  });
  await withWorkers(home, 18_000 + Math.floor(Math.random() * 1000), async (url) => {
    await run('workers', () => load(`${url}/predict`, one, '/predict 1 item, --workers 2', 1));
  });

  const ceiling = results[0]!.rps;
  const bareModel = results[1]!.rps;
  const cols = ['scenario', 'req/s', 'pred/s', 'p50 ms', 'p99 ms', 'vs model', 'vs fastify', 'errors'];
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(54) : x.padStart(11))).join('');
  console.log(
    `\nbench/serving: wrk (1 thread), ${CONNECTIONS} connections unless stated, 3 s warm-up then ${SECONDS} s per scenario, 2-core machine\n`,
  );
  console.log(line(cols));
  for (const r of results) {
    console.log(
      line([
        r.name,
        r.rps.toFixed(0),
        (r.rps * r.predsPerReq).toFixed(0),
        r.p50.toFixed(2),
        r.p99.toFixed(2),
        (r.rps / bareModel).toFixed(2),
        (r.rps / ceiling).toFixed(2),
        String(r.errors + r.non2xx),
      ]),
    );
  }
  const single = results.find((r) => r.name.startsWith('/predict 1 item (batching on'))!;
  const workers = results.find((r) => r.name.includes('--workers 2'))!;
  const oneConn = results.find((r) => r.name.includes('1 connection'))!;
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  console.log(
    `\ntargets (issue 16): /predict single >= 0.9 of the same model in a bare handler: ${(single.rps / bareModel).toFixed(2)} ${verdict(single.rps / bareModel >= 0.9)}; p99 <= 5 ms at 64 connections: ${single.p99.toFixed(2)} ${verdict(single.p99 <= 5)}; p99 <= 2 ms at 1 connection with the defaults: ${oneConn.p99.toFixed(2)} ${verdict(oneConn.p99 <= 2)}; --workers 2 > 1 worker: ${verdict(workers.rps > single.rps)}`,
  );
} finally {
  rmSync(home, { recursive: true, force: true });
}
