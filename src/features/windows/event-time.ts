/**
 * An event time as sources write it: milliseconds since the epoch (a finite number) or an ISO 8601
 * date-time string (`2024-01-31T12:00:00Z`, `2024-01-31 12:00:00.123+02:00`, `2024-01-31`). Returns
 * undefined for anything else, so the caller decides what a bad time costs (a dead letter, a
 * refused row). A string of digits is read as milliseconds, as CSV cells carry them.
 *
 * A date-time without an offset is read as UTC, never as the machine's local time: the same event
 * must land in the same window on every machine.
 */
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;
const DIGITS = /^-?\d{1,16}$/;

/** Events before 1970 or after 9999 are not event times of a feature pipeline. */
const MAX_MS = 253_402_300_799_999;

export function eventTimeMs(value: unknown): number | undefined {
  if (typeof value === 'number') return inRange(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (DIGITS.test(text)) return inRange(Number(text));
  const m = ISO.exec(text);
  if (m === null) return undefined;
  let iso = text.replace(' ', 'T');
  // Date.parse reads a date-time without an offset as local time: make it UTC explicitly.
  if (iso.length > 10 && m[1] === undefined) iso += 'Z';
  return inRange(Date.parse(iso));
}

function inRange(ms: number): number | undefined {
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_MS) return undefined;
  return Math.floor(ms);
}
