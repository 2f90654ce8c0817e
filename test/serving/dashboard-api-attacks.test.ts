/**
 * The routes added for the dashboard (issue 15), attacked: without a token every one is 401 and
 * changes nothing; with the admin token, nasty query values and bodies are 4xx with a stable code,
 * never a 5xx, a stack or a path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, STACK_TRACE, startTestServer, type TestServer } from '../helpers/serving.js';

const READS = [
  '/v1/models/tagifai',
  '/v1/models/tagifai/aliases',
  '/v1/batch/jobs',
  '/v1/batch/jobs/job-1',
  '/v1/experiments',
  '/v1/monitoring/tagifai/alerts',
  '/v1/features/status',
  '/v1/streams/status',
];

const NASTY_QUERIES = [
  'limit=0',
  'limit=-1',
  'limit=1e308',
  'limit=abc',
  'limit=%00',
  'limit=1&limit=2',
  'offset=99999999999999999999',
  'offset=1.5',
  'nope=1',
  'order=sideways',
  'status=%3Cimg%20src%3Dx%3E',
  `model=${'x'.repeat(5000)}`,
  'model=a%01b',
  'alias=%ff',
  'dead_letters=51',
  'payload_chars=0',
  `limit=${'9'.repeat(400)}`,
];

describe('the dashboard routes under attack', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ listen: false, adminToken: ADMIN_TOKEN });
  });
  afterAll(async () => {
    await server?.close();
  });

  const inject = (method: 'GET' | 'POST' | 'PUT', url: string, token?: string, payload?: unknown) =>
    server.app.inject({
      method,
      url,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });

  it('answers 401 to a client without a token, or with a wrong one, and changes nothing', async () => {
    for (const url of READS) {
      for (const token of [undefined, 'wrong-token']) {
        const res = await inject('GET', url, token);
        expect(res.statusCode, url).toBe(401);
        expect(res.json().error.code).toBe('FERRY_HTTP_UNAUTHORIZED');
      }
    }
    const rollback = await inject('POST', '/v1/models/tagifai/aliases/production/rollback', undefined, {});
    expect(rollback.statusCode).toBe(401);
    const move = await inject('PUT', '/v1/models/tagifai/aliases/production', 'wrong-token', { version: 2 });
    expect(move.statusCode).toBe(401);
    expect(await server.reg.production()).toBe(1);
  });

  it('answers nasty query strings with a 4xx and a stable code, never a 5xx, a stack or a path', async () => {
    for (const url of READS) {
      for (const q of NASTY_QUERIES) {
        const res = await inject('GET', `${url}?${q}`, ADMIN_TOKEN);
        const where = `${url}?${q.slice(0, 40)}`;
        expect(res.statusCode, where).toBeLessThan(500);
        if (res.statusCode >= 400) expect(res.json().error.code, where).toMatch(/^FERRY_[A-Z_]+$/);
        expect(res.body, where).not.toMatch(STACK_TRACE);
        expect(res.body, where).not.toContain(server.reg.home);
      }
    }
  });

  it('refuses malformed alias moves and ids, and leaves the alias where it was', async () => {
    const cases: [method: 'GET' | 'POST' | 'PUT', url: string, body: unknown, status: number][] = [
      ['POST', '/v1/models/tagifai/aliases/production/rollback', { from: -1 }, 400],
      ['POST', '/v1/models/tagifai/aliases/production/rollback', { to: 1e308 }, 400],
      ['POST', '/v1/models/tagifai/aliases/production/rollback', { reason: 'x'.repeat(501) }, 400],
      ['POST', '/v1/models/tagifai/aliases/%3Cimg%3E/rollback', {}, 400],
      ['PUT', '/v1/models/tagifai/aliases/production', { version: 2, from: 'a' }, 400],
      // Far in the future: a version that does not exist.
      ['PUT', '/v1/models/tagifai/aliases/production', { version: 2_147_483_647 }, 404],
      // Another caller's move in between: the dialog showed production at 2, it is at 1.
      ['PUT', '/v1/models/tagifai/aliases/production', { version: 2, from: 2 }, 409],
      ['GET', '/v1/batch/jobs/%ed%a0%80', undefined, 400],
      ['GET', `/v1/batch/jobs/${'x'.repeat(600)}`, undefined, 400],
      ['GET', '/v1/batch/jobs/somebody-elses-job', undefined, 404],
    ];
    for (const [method, url, body, status] of cases) {
      const res = await inject(method, url, ADMIN_TOKEN, body);
      expect(res.statusCode, `${method} ${url.slice(0, 60)} ${JSON.stringify(body)}`).toBe(status);
      expect(res.body).not.toMatch(STACK_TRACE);
    }
    expect(await server.reg.production()).toBe(1);
  });
});
