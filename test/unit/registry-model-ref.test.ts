import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import {
  assertAlias,
  assertModelName,
  assertVersion,
  DEFAULT_ALIAS,
  formatModelRef,
  isValidAlias,
  isValidModelName,
  isValidVersion,
  MAX_VERSION,
  parseModelRef,
  parseVersionText,
} from '../../src/registry/index.js';
import { expectFerryErrorSync } from '../helpers/expect-ferry-error.js';

describe('version range (32-bit, as the registry stores it)', () => {
  it('accepts 1..2147483647 and nothing else', () => {
    expect(parseModelRef('m/2147483647')).toEqual({ name: 'm', version: MAX_VERSION });
    expect(parseVersionText('2147483647')).toBe(2_147_483_647);
    for (const bad of ['0', '2147483648', '3000000000', '3e9', '1.0', '01', '', ' 1', '00000000001']) {
      expect(parseVersionText(bad)).toBeUndefined();
    }
    for (const bad of [0, -1, 1.5, 2_147_483_648, 3e9, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(isValidVersion(bad)).toBe(false);
      expectFerryErrorSync(() => assertVersion(bad), ErrorCode.REGISTRY_INVALID_REF, 400);
    }
  });
});

describe('parseModelRef', () => {
  it('parses name@alias, name/version and a bare name as name@production', () => {
    expect(parseModelRef('tagifai@staging')).toEqual({ name: 'tagifai', alias: 'staging' });
    expect(parseModelRef('tagifai/3')).toEqual({ name: 'tagifai', version: 3 });
    expect(parseModelRef('tagifai')).toEqual({ name: 'tagifai', alias: DEFAULT_ALIAS });
    expect(DEFAULT_ALIAS).toBe('production');
    expect(parseModelRef('a.b_c-1@v2-canary')).toEqual({ name: 'a.b_c-1', alias: 'v2-canary' });
    expect(parseModelRef('0day/12')).toEqual({ name: '0day', version: 12 });
  });

  it.each([
    [''],
    ['@prod'],
    ['m@'],
    ['m/'],
    ['m/0'],
    ['m/01'],
    ['m/-1'],
    ['m/1.5'],
    ['m/abc'],
    ['m/99999999999999999999'],
    // Beyond a 32-bit INTEGER column: PostgreSQL would answer with an overflow error.
    ['m/2147483648'],
    ['m/3000000000'],
    ['m@123'],
    ['m@Prod'],
    ['m@a@b'],
    ['m/1/2'],
    ['m/1@prod'],
    ['m@prod/1'],
    ['Tagifai'],
    ['has space'],
    ['-leading'],
    ['.leading'],
    [' m'],
    ['m '],
    ['x'.repeat(64)],
    ['m@' + 'a'.repeat(64)],
  ])('rejects %j with REGISTRY_INVALID_REF (400)', (ref) => {
    expectFerryErrorSync(() => parseModelRef(ref), ErrorCode.REGISTRY_INVALID_REF, 400);
  });

  it('accepts names up to 63 characters', () => {
    expect(parseModelRef('x'.repeat(63))).toEqual({ name: 'x'.repeat(63), alias: 'production' });
  });

  it('formats refs back', () => {
    for (const ref of ['m@staging', 'm/7']) expect(formatModelRef(parseModelRef(ref))).toBe(ref);
    expect(formatModelRef(parseModelRef('m'))).toBe('m@production');
  });
});

describe('name and alias validation', () => {
  it('allows all-digit names but not all-digit aliases', () => {
    expect(isValidModelName('2024')).toBe(true);
    expect(isValidAlias('2024')).toBe(false);
    expect(isValidAlias('v2024')).toBe(true);
  });

  it('throws REGISTRY_INVALID_NAME (400) from the assertions', () => {
    expectFerryErrorSync(() => assertModelName('Bad'), ErrorCode.REGISTRY_INVALID_NAME, 400);
    expectFerryErrorSync(() => assertAlias('7'), ErrorCode.REGISTRY_INVALID_NAME, 400);
    expect(() => assertModelName('good')).not.toThrow();
  });
});
