import { textInputProblem } from '../../../model/validate-input.js';
import { entityIdProblem } from '../../prediction-store.js';
import type { InputRecord } from '../types.js';

export const DEFAULT_ID_COLUMN = 'id';
export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;

/**
 * Turns one input record's fields into a row, or a reject with its reason. Shared by every input
 * kind so that CSV, JSONL and SQL refuse the same things: a missing id, an id the prediction store
 * cannot keep exactly, a title and description with no letter or digit, an oversized text, a NUL (the
 * rule of `textInputProblem`, shared with the HTTP and CLI paths). Duplicate ids are the
 * job's concern (it sees the whole input).
 */
export function toRecord(
  line: number,
  id: string | undefined,
  title: string,
  description: string,
): InputRecord {
  if (id === undefined || id.trim() === '') return { line, reason: 'missing id' };
  const problem = entityIdProblem(id);
  if (problem !== undefined) return { line, reason: `invalid id: ${problem}` };
  // The rule every prediction path applies (HTTP, v2, the CLI): some letter or digit, bounded lengths.
  const reason = textInputProblem(title, description);
  if (reason !== undefined) return { line, id, reason };
  return { line, id, title, description };
}

/** Finds `wanted` among `names` case-insensitively (after trimming), as the training reader does. */
export function findColumn(names: readonly string[], wanted: string): string | undefined {
  const key = wanted.trim().toLowerCase();
  return names.find((n) => n === wanted) ?? names.find((n) => n.trim().toLowerCase() === key);
}
