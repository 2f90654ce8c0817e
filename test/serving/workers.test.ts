/**
 * `ferry serve` start failures and `--workers N`, with the real CLI in child processes: a busy
 * port, workers that cannot start (no production version), recovery once they can, and /metrics
 * aggregated over the workers.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type OwnRedis, ownRedis } from '../helpers/redis-server.js';
import {
  createTestRegistry,
  MODEL,
  metricSum,
  PROJECTS,
  parseMetrics,
  type ServeProcess,
  spawnServe,
  type TestRegistry,
} from '../helpers/serving.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The pids of the "ferry serving" lines, in order (one per worker start that listened). */
function servingPids(proc: ServeProcess): number[] {
  return [...proc.stdout().matchAll(/"pid":(\d+)[^\n]*ferry serving/g)].map((m) => Number(m[1]));
}

async function until(what: string, proc: ServeProcess, ok: () => boolean | Promise<boolean>, ms = 60_000) {
  const end = performance.now() + ms;
  while (!(await ok())) {
    if (performance.now() > end)
      throw new Error(`${what}: not within ${ms} ms\n${proc.stdout()}\n${proc.stderr()}`);
    await sleep(100);
  }
}

async function scrape(address: string): Promise<Map<string, number>> {
  const res = await fetch(`${address}/metrics`, { headers: { connection: 'close' } });
  expect(res.status).toBe(200);
  return parseMetrics(await res.text());
}

async function predictOnce(address: string, body: unknown): Promise<Response> {
  const res = await fetch(`${address}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify(body),
  });
  await res.clone().arrayBuffer();
  return res;
}

/** The process's exit, or a failure naming what it printed when it has not exited within `ms`. */
async function exitWithin(proc: ServeProcess, ms: number) {
  const exit = await Promise.race([proc.exited, sleep(ms).then(() => undefined)]);
  if (exit === undefined) {
    proc.kill();
    throw new Error(`ferry serve still running after ${ms} ms:\n${proc.stdout()}\n${proc.stderr()}`);
  }
  return exit;
}

/** A TCP server holding a port on 127.0.0.1, as another program would. */
async function occupy(): Promise<{ port: number; server: Server }> {
  const port = await freePort();
  const server = createServer();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port, server };
}

let reg: TestRegistry;
const procs: ServeProcess[] = [];
const servers: Server[] = [];
beforeAll(async () => {
  reg = await createTestRegistry();
});
afterAll(async () => {
  for (const p of procs) p.kill();
  for (const s of servers) s.close();
  await reg?.close();
});

describe('ferry serve on a busy port', () => {
  for (const workers of [1, 2]) {
    it(`exits promptly with FERRY_SERVING_PORT_IN_USE (--workers ${workers})`, async () => {
      const busy = await occupy();
      servers.push(busy.server);
      const started = performance.now();
      const proc = spawnServe(reg.home, [
        '--port',
        String(busy.port),
        '--workers',
        String(workers),
        '--cache',
        'off',
        '--prediction-log',
        'off',
      ]);
      procs.push(proc);
      const exit = await exitWithin(proc, 30_000);
      expect(exit.code, proc.stderr()).toBe(1);
      expect(proc.stderr()).toMatch(/ferry: error FERRY_SERVING_PORT_IN_USE: .*in use/);
      expect(proc.stderr()).not.toMatch(/FERRY_INTERNAL|EADDRINUSE|\n\s+at /);
      // Promptly: one start of the server, not a loop of restarts.
      expect(performance.now() - started).toBeLessThan(25_000);
    }, 40_000);
  }
});

describe('ferry serve --workers 2: workers that cannot start', () => {
  it('restarts them with growing delays, then exits with a clear error when none can start', async () => {
    const empty = await createTestRegistry({ versions: [{ seed: 42 }], production: null });
    try {
      const proc = spawnServe(
        empty.home,
        ['--port', String(await freePort()), '--workers', '2', '--cache', 'off', '--prediction-log', 'off'],
        { FERRY_WORKER_START_ATTEMPTS: '4' },
      );
      procs.push(proc);
      const exit = await exitWithin(proc, 90_000);
      const err = proc.stderr();
      expect(exit.code, err).toBe(1);
      expect(err).toMatch(
        /ferry: error FERRY_REGISTRY_NOT_FOUND: no worker could start \(4 failures in a row\)/,
      );
      expect(err).not.toMatch(/\n\s+at /);
      // Each failed start is reported with the delay before the next, and the delays grow.
      const delays = [
        ...err.matchAll(/could not start \(FERRY_REGISTRY_NOT_FOUND[^\n]*next start in (\d+) ms/g),
      ].map((m) => Number(m[1]));
      expect(delays.length, err).toBeGreaterThanOrEqual(2);
      expect(delays[delays.length - 1]!).toBeGreaterThan(delays[0]!);
    } finally {
      await empty.close();
    }
  }, 120_000);

  it('a worker that could not start is replaced by one that serves once the cause is gone', async () => {
    const late = await createTestRegistry({ versions: [{ seed: 42 }], production: null });
    try {
      const proc = spawnServe(
        late.home,
        ['--port', String(await freePort()), '--workers', '2', '--cache', 'off', '--prediction-log', 'off'],
        { FERRY_WORKER_START_ATTEMPTS: '100' },
      );
      procs.push(proc);
      const until = performance.now() + 60_000;
      while (!/could not start/.test(proc.stderr())) {
        if (performance.now() > until) throw new Error(`no start failure reported:\n${proc.stderr()}`);
        await sleep(100);
      }
      await late.setAlias(1);
      const address = await proc.address;
      const res = await fetch(`${address}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify(PROJECTS.nlp),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ferry-model-version')).toBe('1');
      proc.child.kill('SIGTERM');
      expect(await exitWithin(proc, 20_000)).toEqual({ code: 0, signal: null });
    } finally {
      await late.close();
    }
  }, 120_000);
});

describe('ferry serve --workers 2: /metrics', () => {
  it('counts the predictions of every worker, and shows process metrics', async () => {
    const proc = spawnServe(reg.home, [
      '--port',
      String(await freePort()),
      '--workers',
      '2',
      '--cache',
      'off',
      '--prediction-log',
      'off',
    ]);
    procs.push(proc);
    const address = await proc.address;
    // Both workers listening: the second "ferry serving" line.
    const until = performance.now() + 60_000;
    while ((proc.stdout().match(/ferry serving/g) ?? []).length < 2) {
      if (performance.now() > until) throw new Error(`second worker never listened:\n${proc.stderr()}`);
      await sleep(100);
    }
    for (let i = 0; i < 10; i++) {
      // A connection each, so that the primary spreads them over the workers.
      const res = await fetch(`${address}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify(PROJECTS.mlops),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    for (let scrape = 0; scrape < 3; scrape++) {
      const res = await fetch(`${address}/metrics`, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
      const metrics = parseMetrics(await res.text());
      expect(metricSum(metrics, 'ferry_predictions_total', { model: MODEL })).toBe(10);
      expect(metricSum(metrics, 'ferry_http_requests_total', { route: '/predict', status: '200' })).toBe(10);
      // One version loaded (by both workers), not two.
      expect(metricSum(metrics, 'ferry_model_loaded', { model: MODEL, alias: 'production' })).toBe(1);
      expect(metricSum(metrics, 'process_cpu_seconds_total')).toBeGreaterThan(0);
      expect(metricSum(metrics, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    }
    proc.child.kill('SIGTERM');
    expect(await exitWithin(proc, 20_000)).toEqual({ code: 0, signal: null });
  }, 90_000);
});

describe('ferry serve --workers 2 with a Redis cache that goes down', () => {
  let redis: OwnRedis | undefined;
  afterAll(() => redis?.close());

  it('a worker restarted while Redis is down listens and serves; hits resume when Redis is back', async () => {
    redis = await ownRedis();
    await redis.start();
    const proc = spawnServe(reg.home, [
      '--port',
      String(await freePort()),
      '--workers',
      '2',
      '--cache',
      redis.url,
      '--prediction-log',
      'off',
    ]);
    procs.push(proc);
    const address = await proc.address;
    await until('both workers listening', proc, () => servingPids(proc).length >= 2);

    await redis.kill();
    const victim = servingPids(proc)[0]!;
    process.kill(victim, 'SIGKILL');
    await until('a third worker listening', proc, () => servingPids(proc).length >= 3);
    expect(proc.stderr()).toMatch(new RegExp(`worker ${victim} exited \\(SIGKILL\\); next start in \\d+ ms`));

    const input = { title: `Redis outage ${Date.now()}`, description: PROJECTS.cv.description };
    for (let i = 0; i < 6; i++) expect((await predictOnce(address, input)).status).toBe(200);
    const during = await scrape(address);
    expect(metricSum(during, 'ferry_cache_lookups_total', { result: 'error' })).toBe(6);
    expect(metricSum(during, 'ferry_predictions_total', { source: 'model' })).toBe(6);

    await redis.start();
    await until('cache hits after Redis came back', proc, async () => {
      expect((await predictOnce(address, input)).status).toBe(200);
      return metricSum(await scrape(address), 'ferry_cache_lookups_total', { result: 'hit' }) > 0;
    });
    proc.child.kill('SIGTERM');
    expect(await exitWithin(proc, 20_000)).toEqual({ code: 0, signal: null });
  }, 120_000);
});
