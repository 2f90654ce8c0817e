import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../../src/adapters/sqlite/sqlite-client.js';
import { AlertStore } from '../../../src/monitoring/alerts/alert-store.js';
import type { Alert } from '../../../src/monitoring/alerts/evaluate.js';

function sampleAlert(over: Partial<Alert> = {}): Alert {
  return {
    rule: 'dataset-drift',
    model: 'tagifai',
    version: 3,
    severity: 'warning',
    metric: 'dataset_drift_share',
    op: '>=',
    threshold: 0.5,
    value: 0.75,
    forMs: 300_000,
    pendingSince: '2026-01-01T00:00:00.000Z',
    firedAt: '2026-01-01T00:05:00.000Z',
    message: 'tagifai version 3: dataset_drift_share = 0.75 >= 0.5 for 5m',
    evidence: {
      values: { dataset_drift_share: 0.75 },
      report: { features: [{ feature: 'text_length', score: 0.001 }] },
    },
    ...over,
  };
}

describe('AlertStore on SQLite', () => {
  let sql: SqliteClient;
  let store: AlertStore;
  beforeEach(async () => {
    sql = new SqliteClient({ path: ':memory:' });
    await sql.init();
    store = new AlertStore(sql);
    await store.init();
    await store.init(); // twice: migrations are recorded once
  });
  afterEach(() => sql.close());

  it('stores an alert with its evidence once, lists newest first, records delivery and resolution', async () => {
    expect(await store.insert(sampleAlert(), 'pending')).toBe(true);
    expect(await store.insert(sampleAlert({ value: 0.9 }), 'pending')).toBe(false);
    await store.insert(sampleAlert({ firedAt: '2026-01-01T01:00:00.000Z' }), 'none');
    await store.insert(sampleAlert({ model: 'other' }), 'none');
    const list = await store.list('tagifai');
    expect(list.map((a) => a.firedAt)).toEqual(['2026-01-01T01:00:00.000Z', '2026-01-01T00:05:00.000Z']);
    expect(list[1]).toEqual({ ...sampleAlert(), resolvedAt: null, delivery: 'pending' });
    await store.setDelivery(sampleAlert(), 'delivered');
    await store.resolve({
      rule: 'dataset-drift',
      model: 'tagifai',
      firedAt: '2026-01-01T00:05:00.000Z',
      resolvedAt: '2026-01-01T00:09:00.000Z',
    });
    const [, first] = await store.list('tagifai');
    expect(first).toMatchObject({
      delivery: 'delivered',
      resolvedAt: '2026-01-01T00:09:00.000Z',
      value: 0.75,
    });
    expect(await store.list('tagifai', { since: '2026-01-01T00:30:00.000Z' })).toHaveLength(1);
    expect(await store.list('tagifai', { limit: 1 })).toHaveLength(1);
  });

  it('keeps the monitor state per model, replaced whole', async () => {
    expect(await store.loadState('tagifai')).toBeUndefined();
    await store.saveState('tagifai', { schema: 1, a: [1, 2] });
    await store.saveState('tagifai', { schema: 1, a: [3] });
    expect(await store.loadState('tagifai')).toEqual({ schema: 1, a: [3] });
  });
});
