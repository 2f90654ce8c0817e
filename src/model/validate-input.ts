import { ErrorCode, FerryError } from '../core/errors.js';
import { SETTINGS } from '../core/settings/catalogue.js';
import { hasNul } from '../core/text-guard.js';
import type { TextInput } from './model.js';

/** Absolute cap on title + description, whatever FERRY_MAX_STRING_LENGTH says. */
const MAX_TEXT_LENGTH = 100_000;

/**
 * Characters per title or description (FERRY_MAX_STRING_LENGTH's default). One constant for every
 * path that predicts (HTTP, v2, the CLI, batch rows), so a text one of them refuses is refused by all.
 */
export const DEFAULT_MAX_STRING_LENGTH: number = SETTINGS.FERRY_MAX_STRING_LENGTH.default;

export interface TextLimits {
  /** Characters (UTF-16 code units, String#length) per title or description. */
  maxStringLength: number;
}

const DEFAULT_TEXT_LIMITS: TextLimits = { maxStringLength: DEFAULT_MAX_STRING_LENGTH };

/*
 * A text "has content" when it holds at least one letter or digit (Unicode L or N). A text made only
 * of whitespace, punctuation, NUL and other controls, zero-width joiners, combining marks or lone
 * surrogates cleans to nothing: every model would answer its prior, which looks like a prediction
 * but says nothing about the input. Such a text is refused exactly like an empty one.
 */
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

/** Why a title/description pair cannot be predicted, or undefined when it can. Shared by every path. */
export function textInputProblem(
  title: string,
  description: string,
  limits: TextLimits = DEFAULT_TEXT_LIMITS,
): string | undefined {
  if (!LETTER_OR_DIGIT.test(title) && !LETTER_OR_DIGIT.test(description)) {
    return title.trim() === '' && description.trim() === ''
      ? 'empty title and description'
      : 'empty title and description once cleaned (no letter or digit)';
  }
  for (const [field, text] of [
    ['title', title],
    ['description', description],
  ] as const) {
    if (text.length > limits.maxStringLength)
      return `${field} has ${text.length} characters, the limit is ${limits.maxStringLength}`;
  }
  if (title.length + description.length > MAX_TEXT_LENGTH)
    return `text longer than ${MAX_TEXT_LENGTH} characters`;
  // PostgreSQL cannot store U+0000 in TEXT: refused here rather than failing a log or store write later.
  if (hasNul(title) || hasNul(description)) return 'text contains U+0000 (NUL), which is not accepted';
  return undefined;
}

/** Validates one project at the edge: strings, some letter or digit, bounded lengths, no NUL. */
export function validateTextInput(
  value: unknown,
  where = 'input',
  limits: TextLimits = DEFAULT_TEXT_LIMITS,
): TextInput {
  const bad = (message: string) => new FerryError(ErrorCode.MODEL_INVALID_INPUT, `${where}: ${message}`);
  if (typeof value !== 'object' || value === null)
    throw bad('expected an object with "title" and "description"');
  const { title, description } = value as Record<string, unknown>;
  if (typeof title !== 'string') throw bad('"title" must be a string');
  if (description !== undefined && typeof description !== 'string')
    throw bad('"description" must be a string');
  const desc = description ?? '';
  const problem = textInputProblem(title, desc, limits);
  if (problem !== undefined) throw bad(problem);
  return { title, description: desc };
}
