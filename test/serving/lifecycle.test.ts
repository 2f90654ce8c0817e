import { Agent, request } from 'node:http';
import { type AddressInfo, connect, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { readSqlLog } from '../helpers/prediction-log.js';
import {
  createTestRegistry,
  metricSum,
  PROJECTS,
  parseMetrics,
  type ServeProcess,
  spawnServe,
  type TestRegistry,
} from '../helpers/serving.js';

interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
}

/** One request on its own connection (no keep-alive pool), so connection-level behaviour is visible. */
function httpRequest(port: number, method: string, path: string, body?: unknown): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent: false,
        headers: {
          connection: 'close',
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
            at: performance.now(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Whether a fresh TCP connection to the port is accepted ('accepted') or refused (the error code). */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const SHUTDOWN_TIMEOUT_MS = 10_000;
const QUEUE_DELAY_MS = 1500;

let reg: TestRegistry;
const procs: ServeProcess[] = [];
beforeAll(async () => {
  reg = await createTestRegistry();
});
afterAll(async () => {
  for (const p of procs) p.kill();
  await reg?.close();
});

describe('ferry serve as a process: readiness and SIGTERM drain', () => {
  it('is not ready before the model is loaded; drains in-flight requests on SIGTERM, refuses new connections, exits 0', async () => {
    const port = await freePort();
    const proc = spawnServe(
      reg.home,
      [
        '--port',
        String(port),
        '--cache',
        'off',
        // Requests wait in the batcher for up to 1.5 s: slow enough to be in flight at SIGTERM.
        '--max-queue-delay-ms',
        String(QUEUE_DELAY_MS),
        '--max-batch-size',
        '100000',
      ],
      { FERRY_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) },
    );
    procs.push(proc);

    // Readiness probes from the moment the process starts.
    const probes: { at: number; outcome: string }[] = [];
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const at = performance.now();
        try {
          const r = await httpRequest(port, 'GET', '/v2/health/ready');
          probes.push({ at, outcome: String(r.status) });
          if (r.status === 200) return;
        } catch (e) {
          probes.push({ at, outcome: (e as NodeJS.ErrnoException).code ?? 'error' });
        }
        await sleep(25);
      }
    })();

    const address = await Promise.race([
      proc.address,
      sleep(30_000).then(() => {
        throw new Error(`no "ferry serving" line:\n${proc.stdout()}\n${proc.stderr()}`);
      }),
    ]);
    expect(new URL(address).port).toBe(String(port));
    await Promise.race([prober, sleep(5000)]);
    probing = false;
    await prober;

    const first200 = probes.findIndex((p) => p.outcome === '200');
    expect(first200, JSON.stringify(probes)).toBeGreaterThanOrEqual(0);
    expect(first200).toBeGreaterThan(0); // the server did not answer at all before loading
    // Before it is ready a probe is refused (not listening yet) or told 503; never anything else.
    for (const p of probes.slice(0, first200))
      expect(['ECONNREFUSED', 'ECONNRESET', '503']).toContain(p.outcome);
    const ready = await httpRequest(port, 'GET', '/v2/health/ready');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ ready: true });

    // Slow requests: four batches of 1000 items, each on its own connection.
    const items = Array.from({ length: 1000 }, (_, i) => {
      const base = [PROJECTS.cv, PROJECTS.nlp, PROJECTS.mlops][i % 3]!;
      return { title: `${base.title} (${i})`, description: base.description };
    });
    const inFlight = Array.from({ length: 4 }, () => httpRequest(port, 'POST', '/predict', { items }));
    // Wait until the server holds all four (the metrics request itself is the fifth).
    const until = performance.now() + 3000;
    let held = 0;
    while (performance.now() < until) {
      const m = parseMetrics((await httpRequest(port, 'GET', '/metrics')).body);
      held = metricSum(m, 'ferry_http_in_flight_requests');
      if (held >= 5) break;
      await sleep(20);
    }
    expect(held).toBeGreaterThanOrEqual(5);

    const sigtermAt = performance.now();
    expect(proc.child.kill('SIGTERM')).toBe(true);
    await sleep(200);
    // New connections are refused while the in-flight requests are still being drained.
    let settled = 0;
    for (const p of inFlight)
      void p.then(
        () => settled++,
        () => settled++,
      );
    const connectAfter = await tryConnect(port);
    expect(settled).toBe(0);
    expect(connectAfter).toBe('ECONNREFUSED');

    const results = await Promise.all(inFlight);
    for (const r of results) {
      expect(r.status, r.body.slice(0, 300)).toBe(200);
      const body = JSON.parse(r.body) as { results: { prediction: string }[] };
      expect(body.results).toHaveLength(1000);
      expect(body.results[0]!.prediction).toBe('computer-vision');
      expect(body.results[1]!.prediction).toBe('natural-language-processing');
      expect(r.at).toBeGreaterThan(sigtermAt);
    }

    const exit = await Promise.race([
      proc.exited,
      sleep(SHUTDOWN_TIMEOUT_MS + 5000).then(() => ({ code: -1, signal: null })),
    ]);
    expect(exit, proc.stderr()).toEqual({ code: 0, signal: null });
    expect(performance.now() - sigtermAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    expect(proc.stdout()).toContain('stopped cleanly');
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
  }, 60_000);

  it('an idle server exits 0 promptly on SIGINT', async () => {
    const proc = spawnServe(reg.home, ['--port', '0', '--cache', 'off', '--prediction-log', 'off']);
    procs.push(proc);
    const address = await proc.address;
    const res = await fetch(`${address}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', connection: 'close' },
      body: JSON.stringify(PROJECTS.mlops),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ferry-model-version')).toBe('1');
    await res.json();
    const at = performance.now();
    proc.child.kill('SIGINT');
    const exit = await proc.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(performance.now() - at).toBeLessThan(5000);
  }, 60_000);

  it('a keep-alive request in flight at SIGTERM is answered, and the exit does not wait for the keep-alive timeout', async () => {
    const proc = spawnServe(
      reg.home,
      [
        '--port',
        '0',
        '--cache',
        'off',
        '--prediction-log',
        'off',
        '--max-queue-delay-ms',
        '800',
        '--max-batch-size',
        '100000',
      ],
      // An idle kept-alive socket would hold the drain this long.
      { FERRY_KEEP_ALIVE_TIMEOUT_MS: '30000', FERRY_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) },
    );
    procs.push(proc);
    const { port } = new URL(await proc.address);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const answered = new Promise<{ status: number }>((resolve, reject) => {
      const payload = JSON.stringify(PROJECTS.cv);
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/predict',
          agent,
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
    await sleep(300); // the request waits in the batcher (800 ms)
    const at = performance.now();
    proc.child.kill('SIGTERM');
    const r = await answered;
    expect(r).toEqual({ status: 200 });
    const exit = await proc.exited;
    agent.destroy();
    expect(exit, proc.stderr()).toEqual({ code: 0, signal: null });
    expect(performance.now() - at).toBeLessThan(5000);
  }, 60_000);

  it('SIGTERM writes every buffered prediction-log record before the exit (the SQLite writer thread)', async () => {
    const home = (await createTestRegistry()).home;
    const proc = spawnServe(home, ['--port', '0', '--cache', 'off', '--prediction-log', 'sql'], {
      // Nothing is flushed by the timer: every record is still buffered when SIGTERM arrives.
      FERRY_PREDICTION_LOG_FLUSH_MS: '3600000',
    });
    procs.push(proc);
    const address = await proc.address;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${address}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `drain-${i}` },
        body: JSON.stringify(PROJECTS.nlp),
      });
      expect(res.status).toBe(200);
      await res.json();
      ids.push(`drain-${i}`);
    }
    proc.child.kill('SIGTERM');
    expect(await proc.exited, proc.stderr()).toEqual({ code: 0, signal: null });
    expect(proc.stdout()).toContain('stopped cleanly');
    const sql = new SqliteClient({ path: join(home, 'ferry.db') });
    await sql.init();
    const logged = (await readSqlLog(sql)).map((r) => r.requestId).sort();
    await sql.close();
    expect(logged).toEqual(ids);
  }, 60_000);

  it('refuses to start (non-zero exit, no stack trace) when production has no version', async () => {
    const empty = await createTestRegistry({ versions: [{ seed: 42 }], production: null });
    try {
      const proc = spawnServe(empty.home, ['--port', '0']);
      procs.push(proc);
      const exit = await proc.exited;
      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      expect(proc.stderr()).toMatch(/FERRY_REGISTRY_NOT_FOUND/);
      expect(proc.stderr()).not.toMatch(/\n\s+at /);
    } finally {
      await empty.close();
    }
  }, 60_000);
});
