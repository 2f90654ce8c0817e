import { sha256Hex } from '../core/hash.js';
import type { TextInput } from './model.js';

/**
 * The identity of a model input: sha256 (hex) of the canonical JSON `[title, description]`.
 *
 * An array, not the object, is hashed so that the fingerprint cannot depend on property order or on
 * extra fields a caller passed along. The prediction cache keys on it and the prediction store keeps
 * it beside every stored prediction, so both agree on what "the same input" means.
 */
export function inputFingerprint(input: TextInput): string {
  return sha256Hex(JSON.stringify([input.title, input.description]));
}
