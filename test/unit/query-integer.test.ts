import { describe, expect, it } from 'vitest';
import { integerQuery, readIntegerQuery } from '../../src/serving/http/query-integer.js';
import { expectFerryErrorSync } from '../helpers/expect-ferry-error.js';

const RANGE = { min: 1, max: 500 };

describe('integer query parameters', () => {
  const pattern = new RegExp(integerQuery(RANGE, 'items').pattern);

  it('takes plain digits, as many as the maximum has', () => {
    for (const ok of ['0', '1', '50', '500', '999']) expect(pattern.test(ok)).toBe(true);
    for (const bad of ['', '-1', '+1', '007', '1.5', '1e3', '1000', ' 1', '0x10', '١']) {
      expect(pattern.test(bad)).toBe(false);
    }
  });

  it('reads the value in range, undefined when absent', () => {
    expect(readIntegerQuery(undefined, 'limit', RANGE)).toBeUndefined();
    expect(readIntegerQuery('1', 'limit', RANGE)).toBe(1);
    expect(readIntegerQuery('500', 'limit', RANGE)).toBe(500);
  });

  it('refuses what the pattern lets through but the range does not, naming the parameter', () => {
    for (const raw of ['0', '501', '999', '1e308', '9'.repeat(400)]) {
      const e = expectFerryErrorSync(
        () => readIntegerQuery(raw, 'limit', RANGE),
        'FERRY_HTTP_INVALID_REQUEST',
      );
      expect(e.message).toBe('limit must be an integer from 1 to 500');
    }
  });
});
