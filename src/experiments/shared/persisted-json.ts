/**
 * Checks for counters read back from the database: a row written by another replica (or another version)
 * is untrusted input, and a silently wrong count would corrupt every merged report after it.
 */
import { ErrorCode, FerryError } from '../../core/errors.js';

export function invalidState(message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError(ErrorCode.EXPERIMENT_INVALID_STATE, message, { details });
}

export function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidState(`${what} must be an object`, { type: value === null ? 'null' : typeof value });
  }
  return value as Record<string, unknown>;
}

export function readCount(obj: Record<string, unknown>, key: string, what: string): number {
  const value = obj[key];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidState(`${what}.${key} must be an integer >= 0`, { [key]: value });
  }
  return value;
}

export function readNumber(obj: Record<string, unknown>, key: string, what: string): number {
  const value = obj[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidState(`${what}.${key} must be a finite number`, { [key]: value });
  }
  return value;
}

/** A `Record<label, count>` as persisted; labels are data, so they go into a Map, never onto a prototype. */
export function readCountMap(value: unknown, what: string): Map<string, number> {
  const obj = asRecord(value, what);
  const out = new Map<string, number>();
  for (const key of Object.keys(obj)) {
    const count = readCount(obj, key, what);
    if (count > 0) out.set(key, count);
  }
  return out;
}

export function addCounts(into: Map<string, number>, from: ReadonlyMap<string, number>): void {
  for (const [key, count] of from) into.set(key, (into.get(key) ?? 0) + count);
}

/** `Object.fromEntries` defines own properties, so a label such as `__proto__` stays an ordinary key. */
export function countsToRecord(counts: ReadonlyMap<string, number>): Record<string, number> {
  return Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
