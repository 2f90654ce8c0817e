import { describe, expect, it } from 'vitest';
import type {
  PredictionLogItem,
  PredictionLogRecord,
  TextLogItem,
} from '../../../src/ports/prediction-log-sink.js';
import { capRecord, jsonBytesAtMost } from '../../../src/serving/prediction-log/cap-record.js';

/*
 * capRecord skips JSON.stringify when jsonBytesAtMost says a record fits: the bound must never be
 * below the record's real JSON size, or an oversized record would be logged uncut.
 */
const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

/** A deterministic generator (xorshift), so a failure names the seed that found it. */
function random(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

// The worst cases for JSON: control characters and lone surrogates (6-byte escapes), quotes and
// backslashes (2 bytes), 3-byte UTF-8, emoji (surrogate pairs), plain ASCII.
const ALPHABET = [
  'a',
  ' ',
  '"',
  '\\',
  '\n',
  '\u0001',
  '\u001f',
  'é',
  '中',
  '😀',
  '\ud800',
  '\udfff',
  '\u2028',
];

/** Mixed characters, or (one string in three) one character repeated: the bound's tightest case. */
function text(next: () => number, max: number): string {
  const n = Math.floor(next() * max);
  if (next() < 1 / 3) return ALPHABET[Math.floor(next() * ALPHABET.length)]!.repeat(n);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return s;
}

const NUMBERS = [
  -0.0000012345678901234567,
  -1.7976931348623157e308,
  5e-324,
  0.1,
  -123456789012345680000,
  Number.NaN,
];

function record(next: () => number): PredictionLogRecord {
  const items: TextLogItem[] = Array.from({ length: 1 + Math.floor(next() * 4) }, () => ({
    title: text(next, 300),
    description: text(next, 1000),
    prediction: text(next, 30),
    probabilities: Object.fromEntries(
      Array.from({ length: Math.floor(next() * 6) }, () => [
        text(next, 20),
        NUMBERS[Math.floor(next() * NUMBERS.length)]!,
      ]),
    ),
    source: next() < 0.5 ? 'model' : 'cache',
  }));
  return {
    requestId: text(next, 64),
    at: new Date(1_700_000_000_000 + Math.floor(next() * 1e10)).toISOString(),
    model: text(next, 40),
    version: Math.floor(next() * 1e9),
    ...(next() < 0.5 ? { unit: text(next, 64) } : {}),
    ...(next() < 0.5 ? { experiment: text(next, 64), arm: text(next, 32) } : {}),
    latencyMs: NUMBERS[Math.floor(next() * NUMBERS.length)]!,
    itemCount: items.length,
    items,
    ...(next() < 0.2 ? { truncated: true as const } : {}),
  };
}

/** A record of one item, its request-level fields short. */
function oneItem(item: PredictionLogItem): PredictionLogRecord {
  return {
    requestId: 'r',
    at: new Date(0).toISOString(),
    model: 'm',
    version: 1,
    latencyMs: 1,
    itemCount: 1,
    items: [item],
  };
}

const titled = (title: string): TextLogItem => ({
  title,
  description: '',
  prediction: 'p',
  probabilities: {},
  source: 'model',
});

describe('jsonBytesAtMost (the fast path of capRecord)', () => {
  it('is never below the JSON size, on 3,000 records of the worst characters', () => {
    const next = random(20261207);
    for (let i = 0; i < 3000; i++) {
      const r = record(next);
      expect(jsonBytesAtMost(r), JSON.stringify(r)).toBeGreaterThanOrEqual(jsonBytes(r));
    }
  });

  it('measures tensor records exactly instead (no bound)', () => {
    const r = oneItem({ inputs: {}, outputs: {}, source: 'model' });
    expect(jsonBytesAtMost(r)).toBe(Number.POSITIVE_INFINITY);
  });

  it('still cuts a record over the cap whose bound is over it too', () => {
    const r = oneItem(titled('x'.repeat(10_000)));
    const capped = capRecord(r, 4096);
    expect(capped.truncated).toBe(true);
    expect(jsonBytes(capped)).toBeLessThanOrEqual(4096);
  });

  it('keeps a record whose bound is over the cap but whose JSON fits (measured exactly)', () => {
    // 700 plain letters: bound 6 × 700 > 4096, real size well under it.
    const r = oneItem(titled('x'.repeat(700)));
    expect(jsonBytesAtMost(r)).toBeGreaterThan(4096);
    expect(capRecord(r, 4096)).toBe(r);
  });
});
