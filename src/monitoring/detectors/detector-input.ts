import { FerryError } from '../../core/errors.js';

/** Refuses a value that is not a finite number before any state changes: a NaN would poison every
 * later mean and variance, and an Infinity every later difference. */
export function requireFinite(detector: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new FerryError(
      'FERRY_MONITOR_DETECTOR_INPUT',
      `drift detector ${detector} takes finite numbers only, got ${String(value)}`,
      { details: { detector, value: String(value) } },
    );
  }
}

/** The error of a state or parameter that does not fit (a corrupted row, a bad setting). */
export function invalidDetector(message: string): FerryError {
  return new FerryError('FERRY_MONITOR_INVALID', message);
}

/** Reads a params object: only the known keys, each a finite number within its bounds. */
export function readParams<K extends string>(
  detector: string,
  given: Readonly<Record<string, unknown>> | undefined,
  spec: Readonly<Record<K, { default: number; min: number; max: number; integer?: boolean }>>,
): Record<K, number> {
  const out = {} as Record<K, number>;
  const keys = Object.keys(spec) as K[];
  for (const key of Object.keys(given ?? {})) {
    if (!(keys as string[]).includes(key)) {
      throw invalidDetector(`unknown parameter ${key} of detector ${detector} (known: ${keys.join(', ')})`);
    }
  }
  for (const key of keys) {
    const rule = spec[key];
    const raw = given?.[key];
    const value = raw === undefined ? rule.default : raw;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw invalidDetector(`parameter ${key} of detector ${detector} must be a finite number`);
    }
    if (value < rule.min || value > rule.max || (rule.integer === true && !Number.isInteger(value))) {
      throw invalidDetector(
        `parameter ${key} of detector ${detector} must be ${rule.integer === true ? 'an integer ' : ''}in [${rule.min}, ${rule.max}], got ${value}`,
      );
    }
    out[key] = value;
  }
  return out;
}

/** Checks a restored array of finite numbers (JSON cannot hold NaN, but a hand-edited row can hold anything). */
export function finiteArray(value: unknown, what: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'number' && Number.isFinite(v))) {
    throw invalidDetector(`detector state: ${what} must be an array of finite numbers`);
  }
  return [...value] as number[];
}

export function finiteNumber(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidDetector(`detector state: ${what} must be a finite number`);
  }
  return value;
}

export function objectOf(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidDetector(`detector state: ${what} must be an object`);
  }
  return value as Record<string, unknown>;
}
