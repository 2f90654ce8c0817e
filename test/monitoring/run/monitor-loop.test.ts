import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../../src/adapters/sqlite/sqlite-client.js';
import type { AlertRule } from '../../../src/monitoring/alerts/rules.js';
import { DEFAULT_RULES } from '../../../src/monitoring/alerts/rules.js';
import { FeedbackStore } from '../../../src/monitoring/feedback/feedback-store.js';
import { alertReceiver, buildLoop, MIN, MODEL, records, T0 } from './monitor-fixtures.js';

const SHARE_RULE: AlertRule = {
  name: 'dataset-drift',
  metric: 'dataset_drift_share',
  op: '>=',
  threshold: 0.5,
  forMs: 3 * MIN,
  severity: 'warning',
};
const DETECTOR_RULE = DEFAULT_RULES.find((r) => r.name === 'adwin-confidence')!;

describe('the monitor loop end to end on SQLite', () => {
  let sql: SqliteClient;
  beforeEach(async () => {
    sql = new SqliteClient({ path: ':memory:' });
    await sql.init();
  });
  afterEach(() => sql.close());

  it('usual traffic gives no alert; drifted traffic fires the rule after its for-duration, once, stored and delivered to the webhook', async () => {
    const receiver = await alertReceiver();
    try {
      const s = await buildLoop(sql, { rules: [SHARE_RULE, DETECTOR_RULE], webhookUrl: receiver.url });
      // Ten minutes of usual traffic, then ten of drifted traffic (one request a second).
      await s.log.write(records({ n: 600, start: T0 - 10 * MIN, stepMs: 1000, drifted: false, seed: 1 }));
      await s.log.write(records({ n: 600, start: T0, stepMs: 1000, drifted: true, seed: 2 }));

      s.clock.now = T0;
      const [calm] = await s.loop.tick();
      expect(calm!.error).toBeUndefined();
      expect(calm!.fed.confidence).toBe(600);
      expect(calm!.values.rows).toBe(600);
      expect(calm!.values.dataset_drift_share).toBeLessThan(0.5);
      // ADWIN and Page-Hinkley stay quiet on usual traffic; KSWIN (River's alpha 0.005, one test per
      // value once its window is full) may signal now and then on noise alone, as River's does.
      expect(calm!.values['detector:adwin:confidence']).toBe(0);
      expect(calm!.values['detector:page-hinkley:confidence']).toBe(0);
      expect(calm!.fired.filter((a) => a.rule === 'dataset-drift')).toHaveLength(0);
      const signals = { adwin: 0, ph: 0 };

      const firedAt: Record<string, string[]> = {};
      for (let minute = 1; minute <= 8; minute++) {
        s.clock.now = T0 + minute * MIN;
        const [t] = await s.loop.tick();
        expect(t!.error).toBeUndefined();
        expect(t!.fed.confidence).toBe(60);
        for (const a of t!.fired) firedAt[a.rule] = [...(firedAt[a.rule] ?? []), a.firedAt];
        signals.adwin += t!.values['detector:adwin:confidence']!;
        signals.ph += t!.values['detector:page-hinkley:confidence']!;
      }
      // A tenth of the window drifted at minute 1 is already enough for KS on the inputs: pending
      // from minute 1, firing three minutes later, and only once while it holds.
      expect(firedAt['dataset-drift']).toEqual([new Date(T0 + 4 * MIN).toISOString()]);
      // The confidence fell from ~0.9 to ~0.57: the detectors signalled, an alert at once.
      expect(signals.adwin).toBeGreaterThanOrEqual(1);
      expect(signals.ph).toBeGreaterThanOrEqual(1);
      expect(firedAt['adwin-confidence']?.length).toBeGreaterThanOrEqual(1);

      await s.loop.stop(); // waits for the webhook deliveries in flight
      const delivered = receiver.alerts.filter((a) => a.rule === 'dataset-drift');
      expect(delivered).toHaveLength(1);
      expect(delivered[0]).toMatchObject({
        model: MODEL,
        version: 1,
        value: 1,
        pendingSince: new Date(T0 + MIN).toISOString(),
      });

      const stored = (await s.store.list(MODEL)).filter((a) => a.rule === 'dataset-drift');
      expect(stored).toHaveLength(1);
      expect(stored[0]!.delivery).toBe('delivered');
      const report = stored[0]!.evidence.report as {
        rows: number;
        features: Array<{ feature: string; drifted: boolean }>;
      };
      expect(report.rows).toBe(600);
      expect(report.features.filter((f) => f.drifted).map((f) => f.feature)).toEqual(
        expect.arrayContaining(['x[0]', 'x[1]']),
      );
      expect(stored[0]!.evidence.values.dataset_drift_share).toBe(1);

      const text = await s.registry.metrics();
      expect(text).toContain('ferry_monitor_dataset_drift_share{model="churn"} 1');
      expect(text).toMatch(
        /ferry_monitor_drift_score\{model="churn",feature="x\[0\]",method="ks"\} [0-9.e-]+/,
      );
      expect(text).toContain('ferry_monitor_feature_drifted{model="churn",feature="x[0]"} 1');
      expect(text).toContain('ferry_monitor_alerts_total{rule="dataset-drift",severity="warning"} 1');
      expect(text).toMatch(
        /ferry_monitor_detector_drifts_total\{model="churn",detector="[a-z-]+",stream="confidence"\} [1-9]/,
      );
      expect(text).toMatch(/ferry_monitor_last_run_timestamp_seconds [0-9]+/);
      expect(text).not.toContain('NaN');
      expect(
        s.lines.some(
          (l) => l.level === 'warn' && l.msg.startsWith('ALERT warning') && l.obj.rule === 'dataset-drift',
        ),
      ).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  it('a restart resumes: the detectors, cursor and rule states come back from the table', async () => {
    const first = records({ n: 300, start: T0 - 5 * MIN, stepMs: 1000, drifted: false, seed: 3 });
    const second = records({ n: 300, start: T0, stepMs: 1000, drifted: true, seed: 4 });
    const rules = [SHARE_RULE];

    // One process ticking twice…
    const other = new SqliteClient({ path: ':memory:' });
    await other.init();
    const straight = await buildLoop(other, { rules });
    await straight.log.write([...first, ...second]);
    straight.clock.now = T0;
    await straight.loop.tick();
    straight.clock.now = T0 + 5 * MIN;
    await straight.loop.tick();
    const expected = await straight.store.loadState(MODEL);
    await other.close();

    // …and one stopped after the first tick, the second tick by a new loop on the same tables.
    const a = await buildLoop(sql, { rules });
    await a.log.write([...first, ...second]);
    a.clock.now = T0;
    const [ta] = await a.loop.tick();
    await a.loop.stop();
    const b = await buildLoop(sql, { rules, clock: { now: T0 + 5 * MIN } });
    const [tb] = await b.loop.tick();
    expect(ta!.fed.confidence).toBe(300);
    expect(tb!.fed.confidence).toBe(300); // only what came after the saved cursor
    const resumed = (await b.store.loadState(MODEL)) as {
      detectors: Record<string, { state: unknown }>;
      rules: unknown;
    };
    expect(resumed).toEqual(expected);
    expect(resumed.rules).toEqual({ 'dataset-drift': { phase: 'pending', since: T0 + 5 * MIN } });
    expect(Object.keys(resumed.detectors).sort()).toEqual([
      'confidence:adwin',
      'confidence:kswin',
      'confidence:page-hinkley',
      'error:adwin',
      'error:kswin',
      'error:page-hinkley',
    ]);
  });

  it('a window with no data gives no drift gauges (no NaN), and an empty window later removes them', async () => {
    const s = await buildLoop(sql, { rules: [...DEFAULT_RULES] });
    s.clock.now = T0;
    const [t] = await s.loop.tick();
    expect(t!.values).not.toHaveProperty('dataset_drift_share');
    expect(t!.fired).toHaveLength(0);
    let text = await s.registry.metrics();
    expect(text).not.toMatch(/ferry_monitor_dataset_drift_share\{/);
    expect(text).not.toContain('NaN');

    await s.log.write(records({ n: 120, start: T0, stepMs: 1000, drifted: false, seed: 5 }));
    s.clock.now = T0 + 3 * MIN;
    await s.loop.tick();
    expect(await s.registry.metrics()).toMatch(/ferry_monitor_dataset_drift_share\{model="churn"\} /);
    s.clock.now = T0 + 60 * MIN; // the window has moved past every record
    const [later] = await s.loop.tick();
    expect(later!.values).not.toHaveProperty('rows');
    text = await s.registry.metrics();
    expect(text).not.toMatch(/ferry_monitor_(dataset_drift_share|drift_score|feature_drifted)\{/);
    expect(text).not.toContain('NaN');
  });

  it('a failing model is logged and counted, the others go on; ticks never overlap; start/stop', async () => {
    const s = await buildLoop(sql, {
      rules: [SHARE_RULE],
      models: ['ghost', MODEL],
      resolve: async (ref) => {
        if (ref === 'ghost') throw new Error('no such model');
        return { name: ref, version: 1 };
      },
    });
    await s.log.write(records({ n: 60, start: T0 - MIN, stepMs: 1000, drifted: false, seed: 6 }));
    const one = s.loop.tick();
    expect(s.loop.tick()).toBe(one); // joined, not a second tick
    const [ghost, churn] = await one;
    expect(ghost!.error).toContain('no such model');
    expect(churn!.fed.confidence).toBe(60);
    expect(await s.registry.metrics()).toContain('ferry_monitor_tick_failures_total{model="ghost"} 1');
    expect(s.lines.find((l) => l.level === 'error')?.msg).toContain('monitoring tick of ghost failed');

    s.loop.start(); // its first tick runs at once, then one a minute
    await new Promise((r) => setTimeout(r, 200));
    await s.loop.stop();
    expect(await s.registry.metrics()).toContain('ferry_monitor_tick_failures_total{model="ghost"} 2');
  });

  it('follows a promotion: a new version restarts the detectors; without its profile the detectors still run', async () => {
    let version = 1;
    const s = await buildLoop(sql, { rules: [SHARE_RULE], resolve: async (ref) => ({ name: ref, version }) });
    await s.log.write(records({ n: 60, start: T0 - MIN, stepMs: 1000, drifted: false, seed: 8 }));
    await s.log.write(
      records({ n: 60, start: T0, stepMs: 1000, drifted: false, seed: 9, version: 2, prefix: 'v2' }),
    );
    s.clock.now = T0;
    await s.loop.tick();
    const before = (await s.store.loadState(MODEL)) as { detectors: Record<string, { state: unknown }> };
    version = 2;
    s.clock.now = T0 + MIN;
    const [t] = await s.loop.tick();
    expect(t!.version).toBe(2);
    expect(t!.fed.confidence).toBe(60);
    expect(t!.values).not.toHaveProperty('dataset_drift_share'); // version 2 has no profile
    expect(s.lines.some((l) => l.level === 'warn' && l.msg.includes('has no reference profile'))).toBe(true);
    const after = (await s.store.loadState(MODEL)) as {
      version: number;
      detectors: Record<string, { state: unknown }>;
    };
    expect(after.version).toBe(2);
    // The detectors saw version 2's 60 values only, not version 1's too.
    expect(after.detectors['confidence:page-hinkley']).not.toEqual(
      before.detectors['confidence:page-hinkley'],
    );
  });

  it('items without a finite confidence are skipped and counted, never fed to a detector', async () => {
    const s = await buildLoop(sql, { rules: [SHARE_RULE] });
    const bad = records({ n: 10, start: T0 - MIN, stepMs: 1000, drifted: false, seed: 10 }).map((r) => ({
      ...r,
      // NaN is null once in JSON: the log keeps what it can.
      items: [
        {
          ...r.items[0]!,
          outputs: { probabilities: { datatype: 'FP32', shape: [1, 2], data: [Number.NaN, 0.2] } },
        },
      ],
    }));
    await s.log.write(bad);
    s.clock.now = T0;
    const [t] = await s.loop.tick();
    expect(t!.error).toBeUndefined();
    expect(t!.fed.confidence).toBe(0);
    expect(await s.registry.metrics()).toContain(
      'ferry_monitor_detector_skipped_total{model="churn",stream="confidence"} 10',
    );
  });

  it('labels feed the error detectors and give accuracy; the accuracy floor fires', async () => {
    const s0 = await buildLoop(sql, { rules: [] });
    const feedback = new FeedbackStore({ sql, log: s0.log, now: () => new Date(T0 - 30_000) });
    await feedback.init();
    const rows = records({ n: 40, start: T0 - 2 * MIN, stepMs: 1000, drifted: true, seed: 11 });
    await s0.log.write(rows);
    // Every drifted row answered "stay"; a quarter of them were right.
    await feedback.record(
      MODEL,
      rows.map((r, i) => ({ requestId: r.requestId, item: 0, label: i % 4 === 0 ? 'stay' : 'churn' })),
    );
    const floor: AlertRule = {
      name: 'accuracy-floor',
      metric: 'accuracy',
      op: '<',
      threshold: 0.5,
      forMs: 0,
      severity: 'critical',
    };
    const s = await buildLoop(sql, { rules: [floor], feedback });
    s.clock.now = T0;
    const [t] = await s.loop.tick();
    expect(t!.fed.error).toBe(40);
    expect(t!.values.labels).toBe(40);
    expect(t!.values.accuracy).toBe(0.25);
    expect(t!.values.weighted_f1).toBeGreaterThan(0);
    expect(t!.fired.map((a) => a.rule)).toEqual(['accuracy-floor']);
    s.clock.now = T0 + MIN;
    const [again] = await s.loop.tick();
    expect(again!.fed.error).toBe(0); // the same labels are not fed twice
  });

  it('a webhook that is down: the alert is stored and logged anyway, the failure logged with its code and counted', async () => {
    const receiver = await alertReceiver();
    const url = receiver.url;
    await receiver.close(); // nothing listens there any more
    const s = await buildLoop(sql, { rules: [{ ...SHARE_RULE, forMs: 0 }], webhookUrl: url });
    await s.log.write(records({ n: 120, start: T0 - 2 * MIN, stepMs: 1000, drifted: true, seed: 12 }));
    s.clock.now = T0;
    const [t] = await s.loop.tick();
    expect(t!.fired.map((a) => a.rule)).toEqual(['dataset-drift']);
    expect((await s.store.list(MODEL))[0]?.delivery).toBe('pending'); // stored before any delivery
    await s.loop.stop();
    const [stored] = await s.store.list(MODEL);
    expect(stored).toMatchObject({ rule: 'dataset-drift', delivery: 'failed' });
    expect(await s.registry.metrics()).toContain('ferry_monitor_webhook_failures_total 1');
    const failure = s.lines.find((l) => l.obj.code === 'FERRY_MONITOR_WEBHOOK');
    expect(failure?.level).toBe('warn');
    expect(failure?.msg).toContain('ECONNREFUSED');
    expect(failure?.msg).not.toContain(url);
    expect(s.lines.some((l) => l.msg.startsWith('ALERT warning'))).toBe(true);
  });
});
