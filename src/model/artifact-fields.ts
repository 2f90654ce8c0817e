import { ErrorCode, FerryError } from '../core/errors.js';

/*
 * Artifacts are untrusted JSON: a registry file can be replaced, and a decoder that follows the
 * prototype chain (`doc.kind` when the document has no own `kind`, `DECODERS["constructor"]`) or
 * accepts any number as a size hands control of loops and allocations to whoever wrote the file.
 * Every field is therefore read as an own property and every size is bounded before it is used.
 */

/** A JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `obj[key]` when it is the object's own property; undefined otherwise (never an inherited value). */
export function ownField(obj: unknown, key: string): unknown {
  return isJsonObject(obj) && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

export function invalidArtifact(why: string): FerryError {
  return new FerryError(ErrorCode.MODEL_INVALID_ARTIFACT, `invalid model artifact: ${why}`);
}

/** An integer in [min, max], or MODEL_INVALID_ARTIFACT naming the field. */
export function boundedInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArtifact(`${field} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** A finite number in [min, max], or MODEL_INVALID_ARTIFACT naming the field. */
export function boundedNumber(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalidArtifact(`${field} must be a number from ${min} to ${max}`);
  }
  return value;
}

/** A string of at most `maxLength` code units. */
export function boundedString(value: unknown, field: string, maxLength: number): string {
  if (typeof value !== 'string' || value.length > maxLength) {
    throw invalidArtifact(`${field} must be a string of at most ${maxLength} characters`);
  }
  return value;
}

/** The longest n-gram an artifact may ask for (hashing cost grows with it). */
const MAX_NGRAM = 16;

/** An n-gram range of a text model's parameters: [0, 0] (off) or 1 <= min <= max <= MAX_NGRAM. */
export function decodeNgramRange(value: unknown, field: string): [number, number] {
  if (!Array.isArray(value) || value.length !== 2) throw invalidArtifact(`${field} must be [min, max]`);
  const min = boundedInteger(value[0], `${field}[0]`, 0, MAX_NGRAM);
  const max = boundedInteger(value[1], `${field}[1]`, 0, MAX_NGRAM);
  if (!((min === 0 && max === 0) || (min >= 1 && min <= max)))
    throw invalidArtifact(`${field} must be [0, 0] or 1 <= min <= max <= ${MAX_NGRAM}`);
  return [min, max];
}
