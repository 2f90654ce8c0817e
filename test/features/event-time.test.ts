import { describe, expect, it } from 'vitest';
import { parseEventTime } from '../../src/features/event-time.js';

describe('parseEventTime', () => {
  it.each([
    ['2024-05-01T10:00:00Z', Date.UTC(2024, 4, 1, 10)],
    ['2024-05-01T10:00:00.123Z', Date.UTC(2024, 4, 1, 10, 0, 0, 123)],
    ['2024-05-01 10:00:00.1234567+02:00', Date.UTC(2024, 4, 1, 8, 0, 0, 123)],
    ['2024-05-01T10:00-0130', Date.UTC(2024, 4, 1, 11, 30)],
    ['2024-05-01T10:00:00', Date.UTC(2024, 4, 1, 10)],
    ['2024-05-01', Date.UTC(2024, 4, 1)],
    ['2024-02-29', Date.UTC(2024, 1, 29)],
    ['0050-01-01T00:00:00Z', -60589296000000],
    ['1714557600000', 1714557600000],
    [1714557600000, 1714557600000],
    [' 42 ', 42],
  ])('%j → %d', (text, ms) => {
    expect(parseEventTime(text)).toBe(ms);
  });

  it('reads a Date and a bigint', () => {
    expect(parseEventTime(new Date(5))).toBe(5);
    expect(parseEventTime(7n)).toBe(7);
  });

  it.each([
    ['2023-02-29'],
    ['2024-13-01'],
    ['2024-04-31'],
    ['2024-05-01T24:00:00Z'],
    ['2024-05-01T10:61'],
    ['yesterday'],
    [''],
    [1.5],
    [Number.NaN],
    [null],
    [{}],
    ['2024-05-01T10:00:00+25:00'],
  ])('%j is refused', (value) => {
    expect(parseEventTime(value)).toBeUndefined();
  });
});
