import { describe, expect, it } from 'vitest';
import { FerryError } from '../../../src/core/errors.js';
import { formatStudentSpec, parseStudentSpec } from '../../../src/optimize/student-spec.js';

describe('parseStudentSpec', () => {
  it('parses every accepted form', () => {
    expect(parseStudentSpec('word')).toEqual({ type: 'word', ngrams: [1, 2] });
    expect(parseStudentSpec('word:1-1')).toEqual({ type: 'word', ngrams: [1, 1] });
    expect(parseStudentSpec('char:3-4')).toEqual({ type: 'char', ngrams: [3, 4] });
    expect(parseStudentSpec('hashed:2^18')).toEqual({ type: 'hashed', buckets: 262144, ngrams: [1, 2] });
    expect(parseStudentSpec('hashed:262144')).toEqual({ type: 'hashed', buckets: 262144, ngrams: [1, 2] });
    expect(parseStudentSpec('hashed:2^10:1-3')).toEqual({ type: 'hashed', buckets: 1024, ngrams: [1, 3] });
    expect(parseStudentSpec('hashed:2^22:1-1')).toEqual({ type: 'hashed', buckets: 2 ** 22, ngrams: [1, 1] });
  });

  it('writes a spec back in a form it parses to the same spec', () => {
    for (const text of ['word:1-2', 'char:2-5', 'hashed:2^16:1-2']) {
      const spec = parseStudentSpec(text);
      expect(parseStudentSpec(formatStudentSpec(spec))).toEqual(spec);
    }
  });

  it.each([
    'words',
    '',
    'word:0-2',
    'word:2-1',
    'word:1-6',
    'char:3',
    'word:1-2:3',
    'hashed',
    'hashed:2^9',
    'hashed:2^23',
    'hashed:1000',
    'hashed:2^18:1-9',
    'hashed:2^18:1-2:x',
    'hashed:-1024',
  ])('refuses %j with FERRY_OPTIMIZE_INVALID listing the accepted forms', (text) => {
    try {
      parseStudentSpec(text);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FerryError);
      expect((e as FerryError).code).toBe('FERRY_OPTIMIZE_INVALID');
      expect((e as FerryError).message).toContain('hashed:2^B');
    }
  });
});
