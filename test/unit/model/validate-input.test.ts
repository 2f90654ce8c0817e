import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_STRING_LENGTH,
  textInputProblem,
  validateTextInput,
} from '../../../src/model/validate-input.js';
import { expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';

// Texts with no letter or digit: the model would answer its prior for them (NLP at 0.508).
const CLEANS_TO_NOTHING: [string, string][] = [
  ['only NUL', '\u0000\u0000'],
  ['only zero-width joiners', '\u200d\u200d\u200c'],
  ['only combining marks', '\u0301\u0308\u0327'],
  ['a lone surrogate', '\ud800'],
  ['punctuation and a BOM', '\ufeff!?…'],
];

describe('validateTextInput', () => {
  it.each(CLEANS_TO_NOTHING)('refuses %s like an empty text', (_, text) => {
    expectFerryErrorSync(
      () => validateTextInput({ title: text, description: text }),
      'FERRY_MODEL_INVALID_INPUT',
    );
    expect(textInputProblem(text, '')).toMatch(/^empty title and description/);
  });

  it('accepts a text with one letter or digit anywhere, in any script', () => {
    for (const title of ['a', '7', 'é', '数据', '\u200dx\u0301'])
      expect(validateTextInput({ title })).toEqual({ title, description: '' });
  });

  it('refuses U+0000 anywhere, even beside a letter (PostgreSQL cannot store it)', () => {
    expectFerryErrorSync(
      () => validateTextInput({ title: '\u0000', description: 'x' }),
      'FERRY_MODEL_INVALID_INPUT',
    );
    expect(textInputProblem('a\u0000b', '')).toMatch(/U\+0000/);
  });

  it('refuses a field longer than the limit HTTP uses (20,000 by default), or a given one', () => {
    const long = 'a'.repeat(DEFAULT_MAX_STRING_LENGTH + 1);
    expectFerryErrorSync(() => validateTextInput({ title: long }), 'FERRY_MODEL_INVALID_INPUT');
    expectFerryErrorSync(
      () => validateTextInput({ title: 'x', description: long }),
      'FERRY_MODEL_INVALID_INPUT',
    );
    expect(validateTextInput({ title: 'a'.repeat(DEFAULT_MAX_STRING_LENGTH) }).title).toHaveLength(
      DEFAULT_MAX_STRING_LENGTH,
    );
    expectFerryErrorSync(
      () => validateTextInput({ title: 'abcd' }, 'x', { maxStringLength: 3 }),
      'FERRY_MODEL_INVALID_INPUT',
    );
  });
});
