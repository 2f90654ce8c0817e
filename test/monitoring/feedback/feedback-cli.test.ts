import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFerry } from '../../../src/app/open-ferry.js';
import { SqlPredictionLog } from '../../../src/serving/prediction-log/sql-prediction-log.js';
import { runCli } from '../../helpers/cli.js';
import { createTestRegistry, MODEL, type TestRegistry } from '../../helpers/serving.js';
import { logged } from './feedback-store.suite.js';

describe('ferry feedback import / stats', () => {
  let reg: TestRegistry;
  let env: Record<string, string | undefined>;
  beforeAll(async () => {
    reg = await createTestRegistry();
    env = { FERRY_HOME: reg.home, FERRY_DB: undefined, FERRY_ARTIFACTS: undefined };
    const ferry = await openFerry(reg.config);
    try {
      const log = new SqlPredictionLog(ferry.sql);
      await log.init();
      await log.write([logged('r1', 1, ['mlops', 'other']), logged('r2', 2, ['computer-vision'])]);
    } finally {
      await ferry.close();
    }
  }, 120_000);
  afterAll(() => reg?.close());

  it('imports a CSV and a JSONL file idempotently, then prints quality per version', async () => {
    const csv = join(reg.home, 'labels.csv');
    await writeFile(csv, 'request_id,item,label\nr1,0,mlops\nr1,1,mlops\nr2,,computer-vision\nr9,0,other\n');
    const first = await runCli(['feedback', 'import', '--model', MODEL, csv, '--json'], env);
    expect(first.stderr).toBe('');
    expect(JSON.parse(first.stdout)).toEqual({
      model: MODEL,
      received: 4,
      stored: 4,
      duplicates: 0,
      unmatched: 1,
    });
    const jsonl = join(reg.home, 'labels.jsonl');
    await writeFile(jsonl, '{"request_id":"r1","label":"mlops"}\n\n{"entity_id":"p-1","label":"other"}\n');
    const second = await runCli(['feedback', 'import', '--model', MODEL, jsonl, '--json'], env);
    expect(JSON.parse(second.stdout)).toMatchObject({ received: 2, stored: 1, duplicates: 1, unmatched: 1 });

    const stats = await runCli(['feedback', 'stats', '--model', MODEL, '--json'], env);
    const report = JSON.parse(stats.stdout) as {
      matched: number;
      unmatched: number;
      versions: Array<Record<string, unknown>>;
    };
    expect(report.matched).toBe(3);
    expect(report.unmatched).toBe(2);
    // Version 1: mlops→mlops right, other→mlops wrong; version 2: computer-vision right.
    expect(report.versions).toMatchObject([
      { version: 1, compared: 2, accuracy: 0.5 },
      { version: 2, compared: 1, accuracy: 1, weightedF1: 1 },
    ]);
    const text = await runCli(['feedback', 'stats', '--model', MODEL, '--window', '1h'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^1\s+2\s+0\s+2\s+0\.5/m);
  }, 120_000);

  it('refuses a label outside the classes and a malformed line, naming them', async () => {
    const bad = join(reg.home, 'bad.csv');
    await writeFile(bad, 'request_id,label\nr5,mlops\nr6,not-a-class\n');
    const r = await runCli(['feedback', 'import', '--model', MODEL, bad], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/FERRY_FEEDBACK_UNKNOWN_LABEL|not a class/);
    const broken = join(reg.home, 'broken.jsonl');
    await writeFile(
      broken,
      '{"request_id":"a","label":"mlops"}\n{"request_id":"a","entity_id":"b","label":"mlops"}\n',
    );
    const b = await runCli(['feedback', 'import', '--model', MODEL, broken], env);
    expect(b.code).not.toBe(0);
    expect(b.stderr).toMatch(/line 2/);
    expect(b.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
