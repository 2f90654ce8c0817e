import { ErrorCode, FerryError } from '../core/errors.js';
import type { TextInput } from './model.js';

export const MAX_TEXT_LENGTH = 100_000;

/** Validates one project at the edge: strings, not both empty, bounded length. */
export function validateTextInput(value: unknown, where = 'input'): TextInput {
  const bad = (message: string) =>
    new FerryError(ErrorCode.MODEL_INVALID_INPUT, `${where}: ${message}`, { status: 400 });
  if (typeof value !== 'object' || value === null)
    throw bad('expected an object with "title" and "description"');
  const { title, description } = value as Record<string, unknown>;
  if (typeof title !== 'string') throw bad('"title" must be a string');
  if (description !== undefined && typeof description !== 'string')
    throw bad('"description" must be a string');
  const desc = description ?? '';
  if (title.trim() === '' && desc.trim() === '') throw bad('"title" and "description" are both empty');
  if (title.length + desc.length > MAX_TEXT_LENGTH)
    throw bad(`text longer than ${MAX_TEXT_LENGTH} characters`);
  return { title, description: desc };
}
