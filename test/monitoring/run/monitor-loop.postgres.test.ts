import { afterAll, describe, expect, it } from 'vitest';
import type { AlertRule } from '../../../src/monitoring/alerts/rules.js';
import { dropSchemas, freshSchema, pgClient } from '../../helpers/postgres.js';
import { alertReceiver, buildLoop, MIN, MODEL, records, T0 } from './monitor-fixtures.js';

const schemas: string[] = [];
afterAll(() => dropSchemas(...schemas));

const RULE: AlertRule = {
  name: 'dataset-drift',
  metric: 'dataset_drift_share',
  op: '>=',
  threshold: 0.5,
  forMs: 2 * MIN,
  severity: 'critical',
};

describe('the monitor loop on PostgreSQL', () => {
  it('fires after the for-duration, stores once, delivers, and a new loop resumes from the saved state', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const sql = pgClient(schema);
    await sql.init();
    const receiver = await alertReceiver((n) => (n === 1 ? 503 : 200)); // the first delivery is retried
    try {
      const s = await buildLoop(sql, { rules: [RULE], webhookUrl: receiver.url });
      await s.log.write(records({ n: 300, start: T0 - 5 * MIN, stepMs: 1000, drifted: false, seed: 21 }));
      await s.log.write(records({ n: 300, start: T0, stepMs: 1000, drifted: true, seed: 22 }));
      const fired: string[] = [];
      for (let minute = 0; minute <= 3; minute++) {
        s.clock.now = T0 + minute * MIN;
        const [t] = await s.loop.tick();
        expect(t!.error).toBeUndefined();
        fired.push(...t!.fired.map((a) => `${a.rule}@${minute}`));
      }
      expect(fired).toEqual(['dataset-drift@3']);
      await s.loop.stop();
      expect(receiver.alerts.map((a) => a.rule)).toEqual(['dataset-drift']);
      const [stored] = await s.store.list(MODEL);
      expect(stored).toMatchObject({
        rule: 'dataset-drift',
        severity: 'critical',
        delivery: 'delivered',
        resolvedAt: null,
      });
      expect(await s.store.insert(stored!, 'none')).toBe(false); // idempotent on (rule, model, fired_at)

      // A restarted monitor: its rule is still firing (no second alert), its cursor is where it was.
      const again = await buildLoop(sql, { rules: [RULE], clock: { now: T0 + 4 * MIN } });
      const [t] = await again.loop.tick();
      expect(t!.fed.confidence).toBe(60);
      expect(t!.fired).toHaveLength(0);
      expect(await again.store.list(MODEL)).toHaveLength(1);
    } finally {
      await receiver.close();
      await sql.close();
    }
  });
});
