/**
 * Event times of source rows and entity rows: milliseconds since the epoch (a number, or text of
 * digits), an ISO 8601 date-time (`2024-05-01T10:00:00Z`, `2024-05-01 10:00:00.123+02:00`,
 * `2024-05-01`), or a Date (PostgreSQL timestamps). A date-time without an offset is UTC, never
 * the machine's local time: a training set must not depend on where it is built.
 */
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/** Beyond ±8.64e15 ms a Date is invalid; the event time must be a safe integer too. */
const MAX_MS = 8.64e15;

export function parseEventTime(value: unknown): number | undefined {
  if (typeof value === 'number')
    return Number.isInteger(value) && Math.abs(value) <= MAX_MS ? value : undefined;
  if (typeof value === 'bigint') return parseEventTime(Number(value));
  if (value instanceof Date) return parseEventTime(value.getTime());
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^-?\d{1,16}$/.test(text)) return parseEventTime(Number(text));
  const m = ISO.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return undefined;
  }
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  let offsetMin = 0;
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || '0');
    if (oh > 23 || om > 59) return undefined;
    offsetMin = sign * (oh * 60 + om);
  }
  return utc(year, month - 1, day, hour, minute, second, ms) - offsetMin * 60_000;
}

/** Date.UTC without its years 0–99 → 1900–1999 mapping (a training set parses a timestamp per row: the common case stays one call). */
function utc(year: number, month: number, day: number, h = 0, mi = 0, s = 0, ms = 0): number {
  if (year >= 100) return Date.UTC(year, month, day, h, mi, s, ms);
  const d = new Date(0);
  d.setUTCFullYear(year, month, day);
  d.setUTCHours(h, mi, s, ms);
  return d.getTime();
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  if (month !== 2) return DAYS[month - 1]!;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}
