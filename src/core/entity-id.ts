import { ErrorCode, FerryError } from './errors.js';
import { storableTextProblem } from './text-guard.js';

/*
 * What an entity id (and the model name beside it) of a stored prediction may be. Here rather than
 * in the prediction store so that every entry point (the HTTP routes, the stored-prediction
 * service, batch input readers) checks ids by the same rule without depending on the store.
 */

/** Longest entity id (and model name) accepted, in characters (Unicode code points). */
export const MAX_ENTITY_ID_LENGTH = 512;

/**
 * Why `id` cannot be an entity id (or model name), or undefined when it can. Ids are opaque strings
 * stored and compared exactly; what is refused is what the databases cannot keep exactly: NUL
 * (PostgreSQL TEXT refuses it) and unpaired UTF-16 surrogates (both engines store UTF-8, so they
 * would come back changed).
 */
export function entityIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'must be a string';
  if (id.length === 0) return 'must not be empty';
  // length counts UTF-16 units >= code points: only long strings need counting code points.
  if (id.length > MAX_ENTITY_ID_LENGTH && [...id].length > MAX_ENTITY_ID_LENGTH) {
    return `must be at most ${MAX_ENTITY_ID_LENGTH} characters`;
  }
  return storableTextProblem(id);
}

/** Throws FERRY_BATCH_INVALID_ID (400) unless `id` is a valid entity id. */
export function assertEntityId(id: unknown, field = 'entityId'): asserts id is string {
  const problem = entityIdProblem(id);
  if (problem !== undefined) {
    throw new FerryError(ErrorCode.BATCH_INVALID_ID, `invalid ${field}: ${problem}`, {
      details: { field, ...(typeof id === 'string' ? { length: id.length } : {}) },
    });
  }
}
