import type { FeatureType } from '../feature-definitions.js';

/**
 * Why `value` is not a value of the feature type, or undefined when it is. The one rule for the
 * typed fields of events (stream pipelines) and rows (materialize): a value of the wrong type is
 * refused, never coerced (`"12"` is not an int64), so a source's mistake shows up at once.
 */
export function featureTypeProblem(type: FeatureType, value: unknown): string | undefined {
  switch (type) {
    case 'string':
      return typeof value === 'string' ? undefined : `must be a string, not ${describe(value)}`;
    case 'int64':
      return Number.isSafeInteger(value) ? undefined : `must be an integer, not ${describe(value)}`;
    case 'float64':
      return isFiniteNumber(value) ? undefined : `must be a finite number, not ${describe(value)}`;
    case 'bool':
      return typeof value === 'boolean' ? undefined : `must be true or false, not ${describe(value)}`;
    case 'string_list':
      return Array.isArray(value) && value.every((v) => typeof v === 'string')
        ? undefined
        : `must be a list of strings, not ${describe(value)}`;
    case 'float64_list':
      return Array.isArray(value) && value.every(isFiniteNumber)
        ? undefined
        : `must be a list of finite numbers, not ${describe(value)}`;
    case 'map':
      return isPlainObject(value) && Object.values(value).every(isFiniteNumber)
        ? undefined
        : `must be an object of numbers, not ${describe(value)}`;
  }
}

export function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short description of a value for a refusal's reason: its type, and a clipped rendering. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}
