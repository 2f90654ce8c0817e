import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/core/duration.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['250ms', 250],
    ['1h30m', 5_400_000],
    ['1d2h3m4s5ms', 93_784_005],
    [' 10m ', 600_000],
    ['1500', 1500],
    [1500, 1500],
    [0, 0],
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });

  it.each([
    ['1.5h'],
    ['h'],
    ['10'.concat('x')],
    [''],
    ['1m1h'],
    ['1h1h'],
    ['--5m'],
    [Number.NaN],
    [1.5],
    [true],
    [null],
    ['1 h'],
  ])('%j is refused', (text) => {
    const r = parseDuration(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason.length).toBeGreaterThan(5);
  });

  it('keeps negative numbers as numbers (the validator refuses them with its own message)', () => {
    expect(parseDuration(-5)).toEqual({ ok: true, ms: -5 });
    expect(parseDuration('-5')).toEqual({ ok: true, ms: -5 });
    expect(parseDuration('-1h')).toEqual({ ok: true, ms: -3_600_000 });
  });

  it('formats back to a text that parses to the same value', () => {
    for (const ms of [1, 999, 1000, 61_000, 5_400_000, 93_784_005, 604_800_000]) {
      const text = formatDuration(ms);
      expect(parseDuration(text)).toEqual({ ok: true, ms });
    }
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(30 * 86_400_000)).toBe('30d');
  });
});
