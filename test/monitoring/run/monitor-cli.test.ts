import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../../src/adapters/sqlite/sqlite-client.js';
import { AlertStore } from '../../../src/monitoring/alerts/alert-store.js';
import type { PredictionLogRecord } from '../../../src/ports/prediction-log-sink.js';
import { SqlPredictionLog } from '../../../src/serving/prediction-log/sql-prediction-log.js';
import { errorCode, runCli } from '../../helpers/cli.js';
import { createTestRegistry, MODEL, type TestRegistry, V1_SPEC } from '../../helpers/serving.js';

let reg: TestRegistry;
let env: Record<string, string>;

beforeAll(async () => {
  reg = await createTestRegistry({ versions: [V1_SPEC] });
  env = { FERRY_HOME: reg.home, FERRY_DB: reg.config.db, FERRY_LOG_FORMAT: 'json', FERRY_LOG_LEVEL: 'warn' };
  const sql = new SqliteClient({ path: reg.config.db.slice('sqlite:'.length) });
  await sql.init();
  try {
    const log = new SqlPredictionLog(sql);
    await log.init();
    const now = Date.now();
    const records: PredictionLogRecord[] = Array.from({ length: 40 }, (_, i) => ({
      requestId: `cli-${i}`,
      at: new Date(now - 60_000 + i * 100).toISOString(),
      model: MODEL,
      version: 1,
      latencyMs: 1,
      itemCount: 1,
      items: [
        {
          title: 'Transfer learning',
          description: 'with transformers',
          prediction: 'natural-language-processing',
          probabilities: { 'natural-language-processing': 0.8, other: 0.2 },
          source: 'model',
        },
      ],
    }));
    await log.write(records);
    const store = new AlertStore(sql);
    await store.init();
    await store.insert(
      {
        rule: 'dataset-drift',
        model: MODEL,
        version: 1,
        severity: 'warning',
        metric: 'dataset_drift_share',
        op: '>=',
        threshold: 0.5,
        value: 0.75,
        forMs: 300_000,
        pendingSince: '2026-01-01T00:00:00.000Z',
        firedAt: '2026-01-01T00:05:00.000Z',
        message: 'drift',
        evidence: { values: { dataset_drift_share: 0.75 } },
      },
      'failed',
    );
  } finally {
    await sql.close();
  }
});
afterAll(() => reg.close());

describe('ferry monitor run / alerts', () => {
  it('run --once resolves the alias, feeds the detectors with the logged confidences and prints the tick', async () => {
    const r = await runCli(
      ['monitor', 'run', '--model', `${MODEL}@production`, '--once', '--window', '1h'],
      env,
    );
    const ticks = JSON.parse(r.stdout) as Array<{
      model: string;
      version: number;
      fed: { confidence: number };
    }>;
    expect(ticks).toHaveLength(1);
    expect(ticks[0]).toMatchObject({ model: MODEL, version: 1, fed: { confidence: 40 } });
  });

  it('a bad rules file or window is refused with FERRY_MONITOR_INVALID naming the file and field', async () => {
    const file = join(reg.home, 'rules.json');
    await writeFile(file, JSON.stringify([{ name: 'x', metric: 'accuracy', op: '=<', threshold: 0.5 }]));
    const r = await runCli(['monitor', 'run', '--model', MODEL, '--rules', file, '--once'], env);
    expect(r.code).toBe(1);
    expect(errorCode(r)).toBe('FERRY_MONITOR_INVALID');
    expect(r.stderr).toContain(`${file}: rules[0].op`);
    const w = await runCli(['monitor', 'run', '--model', MODEL, '--window', 'soon', '--once'], env);
    expect(errorCode(w)).toBe('FERRY_MONITOR_INVALID');
  });

  it('alerts lists the stored alerts, as text and JSON', async () => {
    const text = await runCli(['monitor', 'alerts', '--model', MODEL], env);
    expect(text.stdout).toContain('dataset-drift');
    expect(text.stdout).toContain('webhook failed');
    const json = await runCli(['monitor', 'alerts', '--model', MODEL, '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject([
      { rule: 'dataset-drift', value: 0.75, delivery: 'failed' },
    ]);
  });
});
