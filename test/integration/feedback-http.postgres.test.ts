import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchemas, freshSchema, pgUrl } from '../helpers/postgres.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  MODEL,
  metricSum,
  PROJECTS,
  parseMetrics,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';

const TOKEN = 'feedback-token-pg-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

/**
 * Two servers on one PostgreSQL schema: a label posted to one before the prediction's log row is
 * written is unmatched, matches once the other server's log row is flushed, and the same label
 * posted to the other server is a duplicate (the idempotency key is in the database, not a process).
 */
describe('POST /v1/feedback on PostgreSQL, two replicas', () => {
  const schema = freshSchema();
  let reg: TestRegistry;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    reg = await createTestRegistry({ db: `${pgUrl()}?schema=${schema}` });
    const opts = {
      registry: reg,
      listen: false,
      adminToken: ADMIN_TOKEN,
      flags: { predictionLog: 'sql' },
      config: { feedbackToken: TOKEN, feedbackRateLimit: 0 },
    } as const;
    a = await startTestServer(opts);
    b = await startTestServer(opts);
  }, 120_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await reg?.close();
    await dropSchemas(schema);
  });

  it('labels join across replicas; duplicates and conflicts are decided by the database', async () => {
    const label = { model: MODEL, request_id: 'pg-req-1', label: 'mlops' };
    const early = await a.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth, payload: label });
    expect(early.json()).toMatchObject({ stored: 1, unmatched: 1 });

    const predicted = await b.app.inject({
      method: 'POST',
      url: '/predict',
      headers: { 'x-request-id': 'pg-req-1' },
      payload: PROJECTS.mlops,
    });
    expect(predicted.statusCode).toBe(200);
    await b.runtime.logger!.flush();

    const again = await b.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth, payload: label });
    expect(again.json()).toMatchObject({ stored: 0, duplicates: 1 });
    const conflict = await b.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      headers: auth,
      payload: { ...label, label: 'other' },
    });
    expect(conflict.statusCode).toBe(409);

    // Concurrent posts of the same new labels to both replicas store each label once.
    const labels = Array.from({ length: 200 }, (_, i) => ({ request_id: `pg-many-${i}`, label: 'other' }));
    const both = await Promise.all(
      [a, b].map((s) =>
        s.app.inject({
          method: 'POST',
          url: '/v1/feedback',
          headers: auth,
          payload: { model: MODEL, labels },
        }),
      ),
    );
    const counts = both.map((r) => r.json<{ stored: number; duplicates: number }>());
    expect(counts[0]!.stored + counts[1]!.stored).toBe(200);
    expect(counts[0]!.duplicates + counts[1]!.duplicates).toBe(200);

    // The first label is now joined: the replica that stored the 200 recomputes its gauges, which
    // show version 1 with that one label (the others' predictions are not logged).
    let compared: number | undefined;
    for (let i = 0; i < 60 && compared === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      for (const s of [a, b]) {
        const m = parseMetrics((await s.app.inject({ method: 'GET', url: '/metrics' })).body);
        compared ??= m.get(`ferry_model_feedback_compared{model="${MODEL}",version="1"}`);
      }
    }
    expect(compared).toBe(1);
    const m = parseMetrics((await b.app.inject({ method: 'GET', url: '/metrics' })).body);
    expect(metricSum(m, 'ferry_feedback_labels_total', { model: MODEL, outcome: 'conflict' })).toBe(1);
  }, 60_000);
});
