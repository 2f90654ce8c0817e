/**
 * Issue 9, item 11: the server's log lines, read from a pino destination stream — the access log
 * (on with --access-log, absent by default), alias swaps, experiment status changes, canary
 * decisions and shed bursts, each with its structured fields.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Experiment } from '../../src/experiments/experiment-types.js';
import { abRaw } from '../experiments/helpers.js';
import { post } from '../experiments/live-helpers.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  MODEL,
  PROJECTS,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';

type Line = Record<string, unknown> & { msg: string; level: number };

/** Collects the server's log lines (pino JSON, parsed). */
function logSink(): { stream: Writable; lines: Line[]; events: (event: string) => Line[] } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const text of String(chunk).split('\n')) if (text !== '') lines.push(JSON.parse(text) as Line);
      cb();
    },
  });
  return { stream, lines, events: (event) => lines.filter((l) => l.event === event) };
}

async function until(what: string, check: () => boolean, maxMs = 20_000): Promise<void> {
  const started = performance.now();
  while (!check()) {
    if (performance.now() - started > maxMs) throw new Error(`not logged in time: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const INFO = 30;
const WARN = 40;

let reg: TestRegistry;
beforeAll(async () => {
  reg = await createTestRegistry();
});
afterAll(() => reg?.close());

async function server(
  log: ReturnType<typeof logSink>,
  opts: Parameters<typeof startTestServer>[0] = {},
): Promise<TestServer> {
  if ((await reg.production()) !== 1) await reg.setAlias(1);
  return startTestServer({
    registry: reg,
    adminToken: ADMIN_TOKEN,
    listen: false,
    logger: { level: 'info', stream: log.stream },
    ...opts,
    flags: { cache: 'off', ...opts.flags },
  });
}

describe('the access log', () => {
  it('off by default: no line per request', async () => {
    const log = logSink();
    const s = await server(log);
    try {
      const res = await s.app.inject({ method: 'POST', url: '/predict', payload: PROJECTS.nlp });
      expect(res.statusCode).toBe(200);
    } finally {
      await s.close();
    }
    expect(log.events('access')).toEqual([]);
    // fastify's own per-request lines stay off.
    expect(log.lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed')).toEqual(
      [],
    );
  });

  it('--access-log: method, route pattern, status, latency, request id, model and version', async () => {
    const log = logSink();
    const s = await server(log, { flags: { accessLog: 'true' } });
    try {
      const ok = await s.app.inject({
        method: 'POST',
        url: '/predict',
        payload: PROJECTS.nlp,
        headers: { 'x-request-id': 'req-logs-1' },
      });
      expect(ok.statusCode).toBe(200);
      const v2 = await s.app.inject({
        method: 'GET',
        url: `/v2/models/${MODEL}/versions/1`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(v2.statusCode).toBe(200);
      const missing = await s.app.inject({ method: 'GET', url: '/nowhere?secret=1' });
      expect(missing.statusCode).toBe(404);
    } finally {
      await s.close();
    }
    const lines = log.events('access');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({
      level: INFO,
      method: 'POST',
      route: '/predict',
      status: 200,
      requestId: 'req-logs-1',
      // The request logger's own binding (fastify's reqId; the child is made on the first line).
      reqId: 'req-logs-1',
      model: MODEL,
      version: '1',
    });
    expect(typeof lines[0]!.ms).toBe('number');
    expect(lines[1]).toMatchObject({
      method: 'GET',
      route: '/v2/models/:model/versions/:version',
      status: 200,
      model: MODEL,
      version: '1',
    });
    // The pattern, never the URL: no query strings in the log.
    expect(lines[2]).toMatchObject({ method: 'GET', route: 'unmatched', status: 404 });
    expect(JSON.stringify(lines[2])).not.toContain('secret');
  });
});

describe('operational events', () => {
  it('an alias swap: model, alias, from and to versions, and the reason the registry recorded', async () => {
    const log = logSink();
    const s = await server(log);
    try {
      const atStart = log.events('alias_swap');
      expect(atStart).toEqual([
        expect.objectContaining({ level: INFO, model: MODEL, alias: 'production', from: null, to: 1 }),
      ]);
      await reg.registry.setAlias(MODEL, 'production', 2, 'better on the new data');
      await s.runtime.host.refresh();
      await until('the swap', () => log.events('alias_swap').length === 2);
      expect(log.events('alias_swap')[1]).toMatchObject({
        level: INFO,
        model: MODEL,
        alias: 'production',
        from: 1,
        to: 2,
        reason: 'better on the new data',
      });
    } finally {
      await s.close();
      await reg.setAlias(1);
    }
  });

  it('experiment status changes: create, pause, resume, conclude, by whom', async () => {
    const log = logSink();
    const s = await server(log);
    try {
      const name = 'logs-ab';
      expect((await post(s, '/v1/experiments', abRaw({ name }))).statusCode).toBe(201);
      expect((await post(s, `/v1/experiments/${name}/pause`)).statusCode).toBe(200);
      // Asking for the status it has changes nothing, and logs nothing.
      expect((await post(s, `/v1/experiments/${name}/pause`)).statusCode).toBe(200);
      expect((await post(s, `/v1/experiments/${name}/resume`)).statusCode).toBe(200);
      const res = await post(s, `/v1/experiments/${name}/conclude`, { winner: 'treatment', reason: 'done' });
      expect(res.statusCode).toBe(200);
    } finally {
      await s.close();
    }
    const changes = log.events('experiment_status');
    expect(changes.map((c) => [c.action, c.from, c.to])).toEqual([
      ['create', null, 'running'],
      ['pause', 'running', 'paused'],
      ['resume', 'paused', 'running'],
      ['conclude', 'running', 'concluded'],
    ]);
    for (const c of changes) {
      expect(c).toMatchObject({ level: INFO, experiment: 'logs-ab', model: MODEL, type: 'ab' });
      expect(c.by).toMatch(/^admin \(http, request [^)]+\)$/);
    }
    expect(changes[3]).toMatchObject({ reason: 'done' });
  });

  it('canary decisions: the controller steps up on healthy traffic; an operator promotes', async () => {
    const log = logSink();
    const s = await server(log, { config: { experimentPollMs: 0, canaryEvaluateMs: 50 } });
    try {
      const name = 'logs-canary';
      const created = await post(s, '/v1/experiments', {
        name,
        type: 'canary',
        model: MODEL,
        arms: [
          { name: 'production', alias: 'production' },
          { name: 'canary', version: 2 },
        ],
        canary: {
          steps: [0.2, 0.5, 1],
          minRequestsPerStep: 5,
          minStepDurationMs: 50,
          thresholds: { maxDistributionDistance: 1, minP99IncreaseMs: 10_000 },
        },
      });
      expect(created.statusCode, created.body).toBe(201);
      const inputs = Object.values(PROJECTS);
      for (let i = 0; log.events('canary_decision').length === 0; i++) {
        if (i > 2000) throw new Error('no canary decision');
        await s.app.inject({
          method: 'POST',
          url: '/predict',
          payload: inputs[i % inputs.length]!,
          headers: { 'x-ferry-unit': `${name}-${i}` },
        });
      }
      expect(log.events('canary_decision')[0]).toMatchObject({
        level: INFO,
        experiment: name,
        model: MODEL,
        action: 'step',
        weight: 0.5,
        by: 'canary controller',
      });
      expect(log.events('canary_decision')[0]!.reason).toMatch(/healthy at step 1 of 3/);

      const promoted = await post(s, `/v1/experiments/${name}/promote`, { reason: 'looks good' });
      expect(promoted.statusCode, promoted.body).toBe(200);
      expect((promoted.json() as { experiment: Experiment }).experiment.status).toBe('concluded');
      const promote = log.events('canary_decision').find((d) => d.action === 'promote');
      expect(promote).toMatchObject({ experiment: name, reason: 'looks good', weight: 1 });
      expect(promote!.by).toMatch(/^admin \(http, request /);
      // The promotion concluded the experiment: a status change too.
      expect(log.events('experiment_status').at(-1)).toMatchObject({
        experiment: name,
        type: 'canary',
        action: 'promote',
        from: 'running',
        to: 'concluded',
        reason: 'looks good',
      });
    } finally {
      await s.close();
      await reg.setAlias(1);
    }
  });

  it('load shedding: one line per burst with its count, not one per shed request', async () => {
    const log = logSink();
    const s = await server(log, { batcher: { maxQueueSize: 2, maxBatchSize: 64, maxQueueDelayMs: 20 } });
    let shed = 0;
    try {
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          s.app.inject({
            method: 'POST',
            url: '/predict',
            payload: {
              items: [
                { title: `Request ${i}: ${PROJECTS.cv.title}`, description: PROJECTS.cv.description },
                { title: `Request ${i}: ${PROJECTS.nlp.title}`, description: PROJECTS.nlp.description },
              ],
            },
          }),
        ),
      );
      shed = answers.filter((a) => a.statusCode === 503).length;
      expect(shed).toBeGreaterThan(1);
      await until('the burst', () => log.events('shed_burst').length > 0, 5000);
    } finally {
      await s.close();
    }
    const bursts = log.events('shed_burst');
    expect(bursts).toHaveLength(1);
    expect(bursts[0]).toMatchObject({
      level: WARN,
      model: MODEL,
      count: shed,
      overloaded: shed,
      deadline: 0,
      ended: true,
    });
    expect(typeof bursts[0]!.durationMs).toBe('number');
  });
});
