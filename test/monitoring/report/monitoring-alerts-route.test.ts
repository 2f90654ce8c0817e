/**
 * GET /v1/monitoring/{model}/alerts: the alerts a monitor stored, newest first, behind the monitor
 * or admin token, with the limit validated and a bad model name refused with a stable code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFerry } from '../../../src/app/open-ferry.js';
import { AlertStore } from '../../../src/monitoring/alerts/alert-store.js';
import type { Alert } from '../../../src/monitoring/alerts/evaluate.js';
import {
  ADMIN_TOKEN,
  MODEL,
  STACK_TRACE,
  startTestServer,
  type TestServer,
  V1_SPEC,
} from '../../helpers/serving.js';

const MONITOR_TOKEN = 'monitor-token-abcdef';
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

function alert(rule: string, firedAt: string, model = MODEL): Alert {
  return {
    rule,
    model,
    version: 1,
    severity: 'warning',
    metric: 'dataset_drift_share',
    op: '>=',
    threshold: 0.5,
    value: 1,
    forMs: 300_000,
    pendingSince: firedAt,
    firedAt,
    message: `${rule}: dataset_drift_share = 1 >= 0.5 for 5m`,
    evidence: { values: { dataset_drift_share: 1, rows: 120 } },
  };
}

describe('GET /v1/monitoring/{model}/alerts (inject)', () => {
  let s: TestServer;

  beforeAll(async () => {
    s = await startTestServer({
      listen: false,
      adminToken: ADMIN_TOKEN,
      flags: { predictionLog: 'sql' },
      config: { monitorToken: MONITOR_TOKEN },
      registryOptions: { versions: [V1_SPEC], production: 1 },
    });
  }, 120_000);
  afterAll(async () => s?.close());

  it('answers an empty list before any monitor ran (the tables are made on first read)', async () => {
    const res = await s.app.inject({
      method: 'GET',
      url: `/v1/monitoring/${MODEL}/alerts`,
      headers: auth(ADMIN_TOKEN),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ model: MODEL, alerts: [] });
  });

  it('lists the stored alerts of the model, newest first, with evidence and resolution; limit', async () => {
    const ferry = await openFerry(s.reg.config);
    try {
      const store = new AlertStore(ferry.sql);
      await store.init();
      await store.insert(alert('dataset-drift', '2026-12-07T08:00:00.000Z'), 'none');
      await store.insert(alert('adwin-confidence', '2026-12-07T09:00:00.000Z'), 'failed');
      await store.insert(alert('dataset-drift', '2026-12-07T09:30:00.000Z', 'other-model'), 'none');
      await store.resolve({
        rule: 'dataset-drift',
        model: MODEL,
        firedAt: '2026-12-07T08:00:00.000Z',
        resolvedAt: '2026-12-07T08:20:00.000Z',
      });
    } finally {
      await ferry.close();
    }
    const res = await s.app.inject({
      method: 'GET',
      url: `/v1/monitoring/${MODEL}/alerts`,
      headers: auth(MONITOR_TOKEN),
    });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { alerts: Array<Record<string, unknown>> };
    expect(body.alerts.map((a) => [a.rule, a.firedAt, a.resolvedAt, a.delivery])).toEqual([
      ['adwin-confidence', '2026-12-07T09:00:00.000Z', null, 'failed'],
      ['dataset-drift', '2026-12-07T08:00:00.000Z', '2026-12-07T08:20:00.000Z', 'none'],
    ]);
    expect(body.alerts[0]).toMatchObject({
      model: MODEL,
      version: 1,
      severity: 'warning',
      metric: 'dataset_drift_share',
      op: '>=',
      threshold: 0.5,
      value: 1,
      evidence: { values: { dataset_drift_share: 1, rows: 120 } },
    });
    const one = await s.app.inject({
      method: 'GET',
      url: `/v1/monitoring/${MODEL}/alerts?limit=1`,
      headers: auth(ADMIN_TOKEN),
    });
    expect(one.statusCode, one.body).toBe(200);
    expect((one.json() as { alerts: unknown[] }).alerts).toHaveLength(1);
  });

  it('refuses without a token or with a wrong one; a bad limit, an unknown parameter or a bad name is a 400', async () => {
    for (const headers of [{}, auth('wrong')]) {
      const res = await s.app.inject({ method: 'GET', url: `/v1/monitoring/${MODEL}/alerts`, headers });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('FERRY_HTTP_UNAUTHORIZED');
    }
    const cases = [
      [`${MODEL}/alerts?limit=0`, 'FERRY_HTTP_INVALID_REQUEST'],
      [`${MODEL}/alerts?limit=501`, 'FERRY_HTTP_INVALID_REQUEST'],
      [`${MODEL}/alerts?limit=abc`, 'FERRY_HTTP_INVALID_REQUEST'],
      [`${MODEL}/alerts?bogus=1`, 'FERRY_HTTP_INVALID_REQUEST'],
      ['Bad%20Name/alerts', 'FERRY_REGISTRY_INVALID_NAME'],
      ['a%00b/alerts', 'FERRY_REGISTRY_INVALID_NAME'],
      [`${'a'.repeat(300)}/alerts`, 'FERRY_HTTP_INVALID_REQUEST'],
    ] as const;
    for (const [path, code] of cases) {
      const res = await s.app.inject({
        method: 'GET',
        url: `/v1/monitoring/${path}`,
        headers: auth(ADMIN_TOKEN),
      });
      expect(res.statusCode, path).toBe(400);
      expect(res.json().error.code, path).toBe(code);
      expect(res.body).not.toMatch(STACK_TRACE);
    }
  });
});
