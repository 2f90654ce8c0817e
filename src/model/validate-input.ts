import { ErrorCode, FerryError } from '../core/errors.js';
import { hasNul } from '../core/text-guard.js';
import type { TextInput } from './model.js';

export const MAX_TEXT_LENGTH = 100_000;

/**
 * Why a project's text cannot be predicted, or undefined. The one rule for every entry point (HTTP
 * routes, CLI, batch inputs, where a problem becomes a reject): not both empty, bounded, no NUL.
 */
export function textInputProblem(title: string, description: string): string | undefined {
  if (title.trim() === '' && description.trim() === '') return 'empty title and description';
  if (title.length + description.length > MAX_TEXT_LENGTH)
    return `text longer than ${MAX_TEXT_LENGTH} characters`;
  // PostgreSQL cannot store U+0000 in TEXT: refused here rather than failing a log or store write later.
  if (hasNul(title) || hasNul(description)) return 'text contains U+0000 (NUL), which is not accepted';
  return undefined;
}

/** Validates one project at the edge: strings, not both empty, bounded length, no NUL. */
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
  const problem = textInputProblem(title, desc);
  if (problem !== undefined) throw bad(problem);
  return { title, description: desc };
}
