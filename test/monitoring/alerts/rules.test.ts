import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RULES,
  loadRules,
  parseDurationMs,
  parseRules,
} from '../../../src/monitoring/alerts/rules.js';
import { expectFerryError, expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';

const rule = (over: Record<string, unknown> = {}) => ({
  name: 'share',
  metric: 'dataset_drift_share',
  op: '>=',
  threshold: 0.5,
  for: '5m',
  severity: 'critical',
  ...over,
});

function problem(doc: unknown): { field: unknown; message: string } {
  const e = expectFerryErrorSync(
    () => parseRules(JSON.stringify(doc), 'rules.json'),
    'FERRY_MONITOR_INVALID',
    400,
  );
  expect(e.details.file).toBe('rules.json');
  return { field: e.details.field, message: e.message };
}

describe('alert rules', () => {
  it('parses a valid file, both forms, durations into milliseconds', () => {
    const [r] = parseRules(JSON.stringify({ rules: [rule()] }), 'f.json');
    expect(r).toEqual({
      name: 'share',
      metric: 'dataset_drift_share',
      op: '>=',
      threshold: 0.5,
      forMs: 300_000,
      severity: 'critical',
    });
    const list = parseRules(
      JSON.stringify([
        rule({
          name: 'a',
          metric: 'feature_drift_score:text_length',
          op: '<',
          threshold: 0.05,
          for: '1h30m',
        }),
        rule({
          name: 'b',
          metric: 'detector:kswin:error',
          op: '>',
          threshold: 0,
          for: 0,
          severity: undefined,
        }),
      ]),
      'f.json',
    );
    expect(list.map((r) => [r.metric, r.forMs, r.severity])).toEqual([
      ['feature_drift_score:text_length', 5_400_000, 'critical'],
      ['detector:kswin:error', 0, 'warning'],
    ]);
  });

  it('names the file and the field of every mistake', () => {
    expect(problem([rule({ op: '=' })]).field).toBe('rules[0].op');
    expect(problem([rule(), rule({ name: 'x', threshold: 'high' })]).field).toBe('rules[1].threshold');
    expect(problem([rule({ for: '5 minutes' })]).field).toBe('rules[0].for');
    expect(problem([rule({ for: '5m1h' })]).field).toBe('rules[0].for');
    expect(problem([rule({ severity: 'page' })]).field).toBe('rules[0].severity');
    expect(problem([rule({ name: '' })]).field).toBe('rules[0].name');
    expect(problem([rule({ extra: 1 })]).field).toBe('rules[0].extra');
    expect(problem([rule(), rule()]).message).toContain('used twice');
    expect(problem({ rulez: [] }).field).toBe('rulez');
    expect(problem({ rules: {} }).field).toBe('rules');
    expect(problem([7]).field).toBe('rules[0]');
    const metric = problem([rule({ metric: 'drift' })]);
    expect(metric.field).toBe('rules[0].metric');
    expect(metric.message).toContain('feature_drift_score:<feature>');
    expect(problem([rule({ metric: 'detector:ddm:confidence' })]).message).toContain('unknown detector');
    expect(problem([rule({ metric: 'detector:adwin:latency' })]).message).toContain('unknown stream');
    expect(problem([rule({ threshold: Number.NaN })]).field).toBe('rules[0].threshold'); // NaN is null in JSON
  });

  it('refuses text that is not JSON, naming the file', () => {
    const e = expectFerryErrorSync(() => parseRules('{"rules": [', 'bad.json'), 'FERRY_MONITOR_INVALID');
    expect(e.message).toMatch(/^bad\.json: \(file\): not JSON/);
  });

  it('a file overrides defaults by name and adds the others; a missing file is an error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-rules-'));
    const file = join(dir, 'rules.json');
    await writeFile(
      file,
      JSON.stringify([rule({ name: 'dataset-drift', threshold: 0.3 }), rule({ name: 'mine' })]),
    );
    const rules = await loadRules(file);
    expect(rules.map((r) => r.name)).toEqual([
      'adwin-confidence',
      'page-hinkley-error',
      'accuracy-floor',
      'dataset-drift',
      'mine',
    ]);
    expect(rules.find((r) => r.name === 'dataset-drift')?.threshold).toBe(0.3);
    expect(await loadRules(undefined)).toEqual(DEFAULT_RULES);
    const e = await expectFerryError(loadRules(join(dir, 'nope.json')), 'FERRY_MONITOR_INVALID');
    expect(e.message).toContain('ENOENT');
  });

  it('durations', () => {
    expect(parseDurationMs('250ms')).toBe(250);
    expect(parseDurationMs('2d')).toBe(172_800_000);
    expect(parseDurationMs('90')).toBe(90);
    expect(parseDurationMs('1m1m')).toBeUndefined();
    expect(parseDurationMs('-1s')).toBeUndefined();
    expect(parseDurationMs(1.5)).toBeUndefined();
    expect(parseDurationMs('')).toBeUndefined();
  });
});
