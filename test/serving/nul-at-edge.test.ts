import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toRecord } from '../../src/batch/job/inputs/record.js';
import { findNul } from '../../src/core/text-guard.js';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../helpers/serving.js';

const NUL = '\u0000';

/** Issue 8, item 5: U+0000 is refused at the edge, the same way on every route. */
describe('NUL at the edge', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ listen: false, adminToken: ADMIN_TOKEN });
  });
  afterAll(() => server?.close());

  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
    server.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(payload),
    });

  it('refuses NUL in every JSON body: /predict, v2 BYTES and id, stored predictions, experiment events', async () => {
    const bytes = (s: string) => ({ name: 'title', datatype: 'BYTES', shape: [1], data: [s] });
    const cases = [
      await post('/predict', { title: `a${NUL}b` }),
      await post('/predict', { items: [{ title: 'ok' }, { title: 'x', description: `d${NUL}` }] }),
      await post('/predict', { title: 'ok', unit: `u${NUL}` }),
      await post('/v2/models/tagifai/infer', { inputs: [bytes(`t${NUL}`)] }),
      await post('/v2/models/tagifai/infer', { id: `id${NUL}`, inputs: [bytes('t')] }),
      await post('/v2/models/tagifai/infer', { parameters: { unit_id: `u${NUL}` }, inputs: [bytes('t')] }),
      await post('/v1/predictions/tagifai/e1', { title: `t${NUL}` }),
      await post(
        '/v1/experiments/some-exp/events',
        { unit: `u${NUL}`, metric: 'm', value: 1, event_id: 'e' },
        { authorization: `Bearer ${ADMIN_TOKEN}` },
      ),
      await post('/predict', { title: 'ok', [`k${NUL}`]: 1 }),
    ];
    for (const res of cases) {
      expect(res.statusCode, res.body).toBe(400);
      expect(res.body).toMatch(/U\+0000/);
      expect(res.headers['x-request-id']).toBeTruthy();
    }
    // Ferry's shape off v2, the protocol's on v2.
    expect(cases[0]!.json().error.code).toBe('FERRY_HTTP_INVALID_REQUEST');
    expect(typeof cases[3]!.json().error).toBe('string');
  });

  it('refuses NUL in path parameters (by their routes) and the query string', async () => {
    const entity = await server.app.inject({ url: '/v1/predictions/tagifai/a%00b' });
    expect(entity.statusCode).toBe(400);
    expect(entity.json().error.code).toBe('FERRY_BATCH_INVALID_ID');
    const model = await server.app.inject({ url: '/v2/models/tag%00ifai' });
    expect(model.statusCode).toBe(404);
    const query = await server.app.inject({ url: '/v2/models/tagifai?x=%00' });
    expect(query.statusCode).toBe(400);
    expect(query.body).toMatch(/U\+0000/);
  });

  it('refuses a NUL in X-Ferry-Unit (a header node lets through) like an overlong one', async () => {
    // Node's HTTP parser refuses a raw NUL in a header; inject passes it, so the check is ours.
    const res = await post('/predict', { title: 'ok' }, { 'x-ferry-unit': `u${NUL}` });
    expect(res.statusCode).toBe(400);
  });

  it('batch inputs with NUL become rejects, by the same rule (validate-input)', () => {
    expect(toRecord(3, 'id-3', `t${NUL}`, 'd')).toEqual({
      line: 3,
      id: 'id-3',
      reason: expect.stringMatching(/U\+0000/),
    });
    expect(toRecord(4, 'id-4', 'fine', 'd')).toMatchObject({ title: 'fine' });
  });

  it('findNul names the path and is safe on very deep documents', () => {
    expect(findNul({ a: [1, { b: `x${NUL}` }] })).toBe('$.a[1].b');
    let deep: unknown = `x${NUL}`;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(findNul(deep)!.length).toBeLessThan(220);
  });
});
