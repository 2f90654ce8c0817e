import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteClient } from '../../../src/adapters/sqlite/sqlite-client.js';
import { ErrorCode, FerryError } from '../../../src/core/errors.js';
import type { RetrainTrigger } from '../../../src/learning/retrain/retrain.js';
import { RetrainWatcher } from '../../../src/learning/retrain/triggers.js';
import { AlertStore } from '../../../src/monitoring/alerts/alert-store.js';
import type { Alert } from '../../../src/monitoring/alerts/evaluate.js';
import { makeTmpDir } from '../../helpers/tmp-dir.js';
import { labeledText, MemoryFeedbackSource } from './memory-feedback.js';

interface Logged {
  level: 'info' | 'warn';
  msg: string;
  obj: object;
}

function recorder() {
  const lines: Logged[] = [];
  return {
    lines,
    log: {
      info: (obj: object, msg: string) => lines.push({ level: 'info', msg, obj }),
      warn: (obj: object, msg: string) => lines.push({ level: 'warn', msg, obj }),
    },
  };
}

/** A run that takes `ms` and records when it started and ended, to check that runs never overlap. */
function slowRun(ms: number) {
  const runs: Array<{ trigger: RetrainTrigger; cause: string; start: number; end: number }> = [];
  let active = 0;
  let maxActive = 0;
  return {
    runs,
    maxActive: () => maxActive,
    run: async (trigger: RetrainTrigger, cause: string) => {
      active++;
      maxActive = Math.max(maxActive, active);
      const start = performance.now();
      await new Promise((r) => setTimeout(r, ms));
      active--;
      runs.push({ trigger, cause, start, end: performance.now() });
    },
  };
}

const base = { model: 'tagifai', afterLabels: 0, feedback: null, lastRunAt: async () => null };

describe('RetrainWatcher', () => {
  it('a drift alert starts a run; alerts during it are coalesced into one run after it, never overlapping', async () => {
    const r = slowRun(50);
    const { log } = recorder();
    const w = new RetrainWatcher({ ...base, run: r.run, log });
    w.start();
    w.onDriftAlert('tagifai', { column: 'title', score: 0.4 });
    w.onDriftAlert('tagifai', { column: 'title', score: 0.5 });
    w.onDriftAlert('tagifai', { column: 'description', score: 0.6 });
    w.onDriftAlert('other-model', { column: 'title' });
    await w.idle();
    await w.stop();
    expect(r.runs.map((x) => [x.trigger, x.cause])).toEqual([
      ['drift', '{"column":"title","score":0.4}'],
      ['drift', '{"column":"description","score":0.6}'],
    ]);
    expect(r.maxActive()).toBe(1);
    expect(r.runs[1]!.start).toBeGreaterThanOrEqual(r.runs[0]!.end);
  });

  it('runs on a cron schedule (every second)', async () => {
    const r = slowRun(1);
    const { log } = recorder();
    const w = new RetrainWatcher({ ...base, schedule: '* * * * * *', run: r.run, log });
    w.start();
    expect(w.nextScheduled()).toBeInstanceOf(Date);
    await new Promise((res) => setTimeout(res, 2300));
    await w.stop();
    expect(r.runs.length).toBeGreaterThanOrEqual(2);
    expect(r.runs.every((x) => x.trigger === 'schedule' && x.cause === '* * * * * *')).toBe(true);
  });

  it('a bad cron expression is a config error naming the setting', () => {
    const w = new RetrainWatcher({
      ...base,
      schedule: 'every tuesday',
      run: async () => {},
      log: recorder().log,
    });
    expect(() => w.start()).toThrow(/FERRY_RETRAIN_SCHEDULE must be a cron expression/);
  });

  it('retrains after N new labels since the last run, counted through the feedback source', async () => {
    const feedback = new MemoryFeedbackSource();
    const r = slowRun(1);
    let last: string | null = '2026-01-01T00:00:00.000Z';
    const w = new RetrainWatcher({
      ...base,
      afterLabels: 3,
      feedback,
      lastRunAt: async () => last,
      labelCheckMs: 3_600_000,
      run: async (t, c) => {
        await r.run(t, c);
        last = '2026-02-01T00:00:00.000Z';
      },
      log: recorder().log,
    });
    w.start();
    const text = { title: 'a', description: 'b' };
    feedback.add('tagifai', '2025-12-31T00:00:00.000Z', labeledText(1, text, 'mlops')); // before the last run
    feedback.add('tagifai', '2026-01-05T00:00:00.000Z', labeledText(2, text, 'mlops'));
    feedback.add('tagifai', '2026-01-06T00:00:00.000Z', labeledText(3, text, 'mlops'));
    await w.checkLabels();
    await w.idle();
    expect(r.runs).toHaveLength(0);
    feedback.add('tagifai', '2026-01-07T00:00:00.000Z', labeledText(4, text, 'mlops'));
    await w.checkLabels();
    await w.idle();
    expect(r.runs.map((x) => x.cause)).toEqual(['3 new labels since 2026-01-01T00:00:00.000Z']);
    // The run moved "last": the same labels do not trigger again.
    await w.checkLabels();
    await w.idle();
    expect(r.runs).toHaveLength(1);
    await w.stop();
  });

  it('another replica holding the lease is logged as skipped, a failure as a warning; the watcher goes on', async () => {
    const rec = recorder();
    let n = 0;
    const w = new RetrainWatcher({
      ...base,
      run: async () => {
        n++;
        if (n === 1) throw new FerryError(ErrorCode.RETRAIN_BUSY, 'busy');
        throw new FerryError(ErrorCode.DATA_EMPTY, 'empty');
      },
      log: rec.log,
    });
    w.start();
    w.trigger('drift', 'x');
    await w.idle();
    w.trigger('drift', 'y');
    await w.idle();
    await w.stop();
    expect(rec.lines.filter((l) => l.msg !== 'retrain: started').map((l) => [l.level, l.msg])).toEqual([
      ['info', 'retrain: another replica is retraining this model; skipped'],
      ['warn', 'retrain: failed'],
    ]);
  });

  it('after-labels without a feedback source is a config error', () => {
    expect(
      () => new RetrainWatcher({ ...base, afterLabels: 5, run: async () => {}, log: recorder().log }),
    ).toThrow(/needs a feedback source/);
  });
});

describe('RetrainWatcher: alerts stored by a monitor in another process', () => {
  it('an alert fired after the last run triggers one run; older alerts and other rules do not', async () => {
    const dir = await makeTmpDir();
    const sql = new SqliteClient({ path: join(dir.path, 'alerts.db') });
    await sql.init();
    try {
      const store = new AlertStore(sql);
      await store.init();
      const alert = (rule: string, firedAt: string): Alert => ({
        rule,
        model: 'tagifai',
        version: 1,
        severity: 'warning',
        metric: 'dataset_drift_share',
        op: '>=',
        threshold: 0.5,
        value: 0.8,
        forMs: 0,
        pendingSince: firedAt,
        firedAt,
        message: 'drift',
        evidence: { values: { dataset_drift_share: 0.8 } },
      });
      let lastRun: string | null = '2026-01-01T00:10:00.000Z';
      await store.insert(alert('dataset-drift', '2026-01-01T00:05:00.000Z'), 'none'); // before the last run
      await store.insert(alert('accuracy-floor', '2026-01-01T00:20:00.000Z'), 'none'); // a rule not asked for
      const r = slowRun(1);
      const { log } = recorder();
      const w = new RetrainWatcher({
        ...base,
        lastRunAt: async () => lastRun,
        alertSince: async (since) =>
          (await store.list('tagifai', { since })).find(
            (a) => a.firedAt > since && a.rule === 'dataset-drift',
          ),
        run: async (trigger, cause) => {
          await r.run(trigger, cause);
          lastRun = '2026-01-01T00:40:00.000Z';
        },
        log,
      });
      w.start();
      await w.checkAlerts();
      await w.idle();
      expect(r.runs).toEqual([]);
      await store.insert(alert('dataset-drift', '2026-01-01T00:30:00.000Z'), 'none');
      await w.checkAlerts();
      await w.idle();
      await w.checkAlerts(); // the same alert again: the run after it already happened
      await w.idle();
      await w.stop();
      expect(r.runs.map((x) => [x.trigger, x.cause])).toEqual([
        ['drift', 'alert dataset-drift fired at 2026-01-01T00:30:00.000Z'],
      ]);
    } finally {
      await sql.close();
      await dir.remove();
    }
  });
});
