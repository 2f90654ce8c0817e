import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { TRUNCATION_MARKER } from '../../src/ports/prediction-log-sink.js';
import { readSqlLog } from '../helpers/prediction-log.js';
import { metricSum, parseMetrics, startTestServer, type TestServer } from '../helpers/serving.js';

const CAP = 16 * 1024;

/** Bytes the log's rows hold (every column, as stored). */
async function loggedBytes(sql: SqliteClient): Promise<number> {
  const [row] = await sql.query<{ n: number | null }>(
    `SELECT SUM(LENGTH(CAST(items AS BLOB)) + LENGTH(CAST(request_id AS BLOB)) + LENGTH(CAST(at AS BLOB))
       + LENGTH(CAST(model AS BLOB)) + COALESCE(LENGTH(CAST(unit AS BLOB)), 0)
       + COALESCE(LENGTH(CAST(experiment AS BLOB)), 0) + COALESCE(LENGTH(CAST(arm AS BLOB)), 0) + 40) AS n
     FROM ferry_prediction_requests`,
  );
  return Number(row?.n ?? 0);
}

describe('prediction log amplification (issue 8, item 4)', () => {
  let server: TestServer;
  let sql: SqliteClient;
  beforeAll(async () => {
    server = await startTestServer({
      listen: false,
      flags: { predictionLog: 'sql' },
      config: { predictionLogMaxBytesPerRequest: CAP },
    });
    sql = new SqliteClient({ path: server.reg.config.db.slice('sqlite:'.length) });
    await sql.init();
  });
  afterAll(async () => {
    await sql?.close();
    await server?.close();
  });

  const infer = (body: unknown, headers: Record<string, string> = {}) =>
    server.app.inject({
      method: 'POST',
      url: '/v2/models/tagifai/infer',
      headers: { 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(body),
    });
  const titles = (n: number, size: number) => ({
    name: 'title',
    datatype: 'BYTES',
    shape: [n],
    data: Array.from({ length: n }, (_, i) => `${i} ${'x'.repeat(size)}`),
  });

  it('refuses identifiers over 256 bytes on every field (v2 id, unit_id, X-Ferry-Unit, /predict unit)', async () => {
    const long = 'é'.repeat(129); // 129 characters, 258 bytes
    for (const res of [
      await infer({ id: long, inputs: [titles(1, 5)] }),
      await infer({ parameters: { unit_id: long }, inputs: [titles(1, 5)] }),
      await infer({ inputs: [titles(1, 5)] }, { 'x-ferry-unit': 'u'.repeat(257) }),
    ]) {
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatch(/256 bytes/);
    }
    const course = await server.app.inject({
      method: 'POST',
      url: '/predict',
      payload: { title: 'a', unit: long },
    });
    expect(course.statusCode).toBe(400);
    expect(course.json().error.code).toBe('FERRY_HTTP_INVALID_REQUEST');
  });

  it('a 205 KB request grows the log by at most the cap, stored once per request, cut with a marker', async () => {
    const before = await loggedBytes(sql);
    const body = {
      id: 'i'.repeat(256),
      parameters: { unit_id: 'u'.repeat(256) },
      inputs: [titles(100, 2040)],
    };
    expect(JSON.stringify(body).length).toBeGreaterThan(205_000);
    const res = await infer(body);
    expect(res.statusCode).toBe(200);
    await server.runtime.logger!.flush();
    const grown = (await loggedBytes(sql)) - before;
    expect(grown).toBeGreaterThan(0);
    expect(grown).toBeLessThanOrEqual(CAP);

    const [rec] = (await readSqlLog(sql)).filter((r) => r.requestId === 'i'.repeat(256));
    expect(rec).toBeDefined();
    expect(rec!.unit).toBe('u'.repeat(256));
    expect(rec!.itemCount).toBe(100);
    expect(rec!.truncated).toBe(true);
    expect(rec!.items.some((i) => 'title' in i && i.title.endsWith(TRUNCATION_MARKER))).toBe(true);
    const metrics = parseMetrics((await server.app.inject({ url: '/metrics' })).body);
    expect(metricSum(metrics, 'ferry_prediction_log_truncated_total')).toBeGreaterThanOrEqual(1);
  });

  it('a small request is logged whole, in one row with its items', async () => {
    const res = await infer({ id: 'small-1', inputs: [titles(3, 10)] });
    expect(res.statusCode).toBe(200);
    await server.runtime.logger!.flush();
    const [rec] = (await readSqlLog(sql)).filter((r) => r.requestId === 'small-1');
    expect(rec!.items.map((i) => ('title' in i ? i.title : undefined))).toEqual(titles(3, 10).data);
    expect(rec!.truncated).toBeUndefined();
  });
});
