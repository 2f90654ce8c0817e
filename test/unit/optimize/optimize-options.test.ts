import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.js';
import {
  parseDistillOptions,
  parsePruneOptions,
  parseQuantizeOptions,
  variantLabel,
} from '../../../src/optimize/optimize-options.js';
import { parseStudentSpec } from '../../../src/optimize/student-spec.js';
import { expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';

describe('ferry optimize options', () => {
  it('parses what a user types', () => {
    expect(parsePruneOptions({ sparsity: '0.9' })).toEqual({
      method: 'magnitude',
      sparsity: 0.9,
      fineTune: false,
    });
    expect(parsePruneOptions({ method: 'structured', keepFeatures: '5000', fineTune: true })).toEqual({
      method: 'structured',
      keepFeatures: 5000,
      fineTune: true,
    });
    expect(parseQuantizeOptions({})).toEqual({ dtype: 'int8' });
    expect(parseQuantizeOptions({ dtype: 'float16' })).toEqual({ dtype: 'float16' });
    expect(parseDistillOptions({})).toEqual({
      student: { type: 'word', ngrams: [1, 2] },
      temperature: 2,
      alpha: 0.5,
    });
    expect(parseStudentSpec('hashed:2^18')).toEqual({ type: 'hashed', buckets: 262144, ngrams: [1, 2] });
    expect(parseStudentSpec('hashed:262144:1-2')).toEqual({
      type: 'hashed',
      buckets: 262144,
      ngrams: [1, 2],
    });
    expect(parseStudentSpec('char:3-4')).toEqual({ type: 'char', ngrams: [3, 4] });
    expect(variantLabel('prune', { method: 'magnitude', sparsity: 0.9, fineTune: true })).toBe(
      'prune magnitude 0.9 fine-tuned',
    );
    expect(variantLabel('distill', { student: parseStudentSpec('hashed:2^10') })).toBe(
      'distill hashed:2^10:1-2',
    );
  });

  it.each([
    () => parsePruneOptions({ sparsity: '1' }),
    () => parsePruneOptions({ sparsity: '0' }),
    () => parsePruneOptions({ sparsity: '' }),
    () => parsePruneOptions({ sparsity: '0.5x' }),
    () => parsePruneOptions({}),
    () => parsePruneOptions({ sparsity: '0.5', keepFeatures: '10' }),
    () => parsePruneOptions({ method: 'structured' }),
    () => parsePruneOptions({ method: 'structured', keepFeatures: '2.5' }),
    () => parsePruneOptions({ method: 'structured', keepFeatures: '0' }),
    () => parsePruneOptions({ method: 'lottery', sparsity: '0.5' }),
    () => parseQuantizeOptions({ dtype: 'int4' }),
    () => parseDistillOptions({ temperature: '0' }),
    () => parseDistillOptions({ temperature: 'Infinity' }),
    () => parseDistillOptions({ temperature: '1e308' }),
    () => parseDistillOptions({ alpha: '-0.1' }),
    () => parseDistillOptions({ alpha: 'NaN' }),
    () => parseStudentSpec('hashed:1000'),
    () => parseStudentSpec('hashed:2^30'),
    () => parseStudentSpec('char:0-2'),
    () => parseStudentSpec('word:2-1'),
    () => parseStudentSpec('bert'),
  ])('refuses a bad value with FERRY_OPTIMIZE_INVALID (%#)', (parse) => {
    expectFerryErrorSync(parse, ErrorCode.OPTIMIZE_INVALID);
  });
});
