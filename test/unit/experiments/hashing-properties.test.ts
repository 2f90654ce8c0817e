/**
 * Properties of GrowthBook's assignment that the experiments module relies on (see the note at
 * the top of src/experiments/hashing.ts for what the layout guarantees and what it does not).
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.js';
import { seededRandom } from '../../../src/core/random.js';
import {
  assign,
  type BucketRange,
  chooseVariation,
  getBucketRanges,
  hash,
  inRange,
  reassignedShare,
} from '../../../src/experiments/hashing.js';
import { sampleRatioMismatch } from '../../../src/experiments/stats/srm.js';
import { expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';

const random = seededRandom(20240517);

function randomWeights(k: number): number[] {
  const raw = Array.from({ length: k }, () => 0.05 + random());
  const total = raw.reduce((s, x) => s + x, 0);
  return raw.map((x) => x / total);
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789-_@.üéßΩЖ日本😀';
function randomId(): string {
  const chars = Array.from(ALPHABET);
  const length = 1 + Math.floor(random() * 16);
  return Array.from({ length }, () => chars[Math.floor(random() * chars.length)]).join('');
}

const UNITS = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? randomId() : `user-${i}`));

describe('assign', () => {
  it('is sticky: the same unit always gets the same arm', () => {
    const experiment = { seed: 'tagifai-ab-1', weights: [0.2, 0.3, 0.5] };
    const first = UNITS.map((u) => assign(experiment, u));
    for (let round = 0; round < 3; round++) {
      expect(UNITS.map((u) => assign({ ...experiment, weights: [...experiment.weights] }, u))).toEqual(first);
    }
  });

  it('is GrowthBook v2 hashing over the bucket ranges, -1 outside coverage', () => {
    const experiment = { seed: 'exp', weights: [0.5, 0.5], coverage: 0.4 };
    const ranges = getBucketRanges(2, 0.4, [0.5, 0.5]);
    for (const u of UNITS) expect(assign(experiment, u)).toBe(chooseVariation(hash('exp', u, 2)!, ranges));
    expect(UNITS.some((u) => assign(experiment, u) === -1)).toBe(true);
  });

  it('splits units in proportion to the weights (no sample-ratio mismatch)', () => {
    const weights = [0.1, 0.3, 0.6];
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[assign({ seed: 'split', weights }, `unit-${i}`)]! += 1;
    expect(sampleRatioMismatch(counts, weights).mismatch).toBe(false);
  });

  it('depends on the seed, so experiments are not correlated', () => {
    const a = UNITS.map((u) => assign({ seed: 'exp-a', weights: [0.5, 0.5] }, u));
    const b = UNITS.map((u) => assign({ seed: 'exp-b', weights: [0.5, 0.5] }, u));
    const agreement = a.filter((arm, i) => arm === b[i]).length / a.length;
    expect(agreement).toBeGreaterThan(0.45);
    expect(agreement).toBeLessThan(0.55);
  });

  it.each([[[0.5, 0.6]], [[0.5, 0.3]], [[-0.5, 1.5]], [[]], [[Number.NaN, 1]]])(
    'rejects weights %j instead of silently using equal weights',
    (weights) => {
      expectFerryErrorSync(
        () => assign({ seed: 's', weights }, 'u'),
        ErrorCode.EXPERIMENT_INVALID_WEIGHTS,
        400,
      );
    },
  );

  it.each([[-0.1], [1.1], [Number.NaN]])('rejects coverage %d', (coverage) => {
    expectFerryErrorSync(
      () => assign({ seed: 's', weights: [0.5, 0.5], coverage }, 'u'),
      ErrorCode.EXPERIMENT_INVALID_WEIGHTS,
    );
  });
});

describe('raising coverage', () => {
  it('never moves a unit already in to another arm', () => {
    for (let trial = 0; trial < 40; trial++) {
      const weights = randomWeights(2 + Math.floor(random() * 4));
      const low = random();
      const high = low + (1 - low) * random();
      const seed = `cov-${trial}`;
      let inBefore = 0;
      let inAfter = 0;
      const movedOrDropped: string[] = [];
      for (const u of UNITS) {
        const before = assign({ seed, weights, coverage: low }, u);
        const after = assign({ seed, weights, coverage: high }, u);
        if (before !== -1) {
          inBefore++;
          if (after !== before) movedOrDropped.push(u);
        }
        if (after !== -1) inAfter++;
      }
      expect(movedOrDropped).toEqual([]);
      expect(inAfter).toBeGreaterThanOrEqual(inBefore);
    }
  });

  it('only adds units: lowering it back removes exactly those', () => {
    const weights = [0.25, 0.75];
    const inAtHalf = UNITS.filter((u) => assign({ seed: 'c', weights, coverage: 0.5 }, u) !== -1);
    const inAtFull = UNITS.filter((u) => assign({ seed: 'c', weights, coverage: 1 }, u) !== -1);
    expect(inAtFull).toHaveLength(UNITS.length);
    expect(new Set(inAtFull)).toEqual(new Set(UNITS));
    expect(inAtHalf.length / UNITS.length).toBeGreaterThan(0.45);
    expect(inAtHalf.length / UNITS.length).toBeLessThan(0.55);
  });
});

describe('changing weights', () => {
  /**
   * GrowthBook guarantees (by its layout) that a unit moves only when its hash leaves its arm's
   * range. So: a unit still inside its old arm's new range keeps its arm; every unit that moves
   * had its hash in (old range of its arm) ∖ (new range of that arm); and the share that moves is
   * the overlap measure `reassignedShare` reports.
   */
  it('moves only the units whose hash left their arm range', () => {
    for (let trial = 0; trial < 40; trial++) {
      const k = 2 + Math.floor(random() * 4);
      const before = randomWeights(k);
      const after = randomWeights(k);
      const seed = `w-${trial}`;
      const oldRanges = getBucketRanges(k, 1, before);
      const newRanges = getBucketRanges(k, 1, after);
      let moved = 0;
      const violations: string[] = [];
      for (const u of UNITS) {
        const h = hash(seed, u, 2)!;
        const a = assign({ seed, weights: before }, u);
        const b = assign({ seed, weights: after }, u);
        if (inRange(h, newRanges[a]!) && b !== a) violations.push(`${u} left a range that still holds it`);
        if (b !== a) {
          moved++;
          if (!(inRange(h, oldRanges[a]!) && !inRange(h, newRanges[a]!)))
            violations.push(`${u} moved without cause`);
        }
      }
      expect(violations).toEqual([]);
      // The empirical share of movers matches the measure of the moved region (binomial noise).
      const share = reassignedShare(oldRanges, newRanges);
      expect(Math.abs(moved / UNITS.length - share)).toBeLessThan(4 * Math.sqrt(0.25 / UNITS.length) + 1e-9);
    }
  });

  it('with two arms moves |Δw|, the least possible', () => {
    const cases: [number[], number[]][] = [
      [
        [0.5, 0.5],
        [0.4, 0.6],
      ],
      [
        [0.1, 0.9],
        [0.7, 0.3],
      ],
      [
        [0.5, 0.5],
        [0.5, 0.5],
      ],
    ];
    for (const [before, after] of cases) {
      const share = reassignedShare(getBucketRanges(2, 1, before), getBucketRanges(2, 1, after));
      expect(share).toBeCloseTo(Math.abs(after[0]! - before[0]!), 12);
    }
  });

  it('with three or more arms can move more than the least possible (documented)', () => {
    const oldRanges = getBucketRanges(3, 1, [1 / 3, 1 / 3, 1 / 3]);
    const newRanges: BucketRange[] = getBucketRanges(3, 1, [0.5, 0.25, 0.25]);
    expect(reassignedShare(oldRanges, newRanges)).toBeCloseTo(0.25, 12);
  });
});

describe('hash version 2 without strings', () => {
  /** GrowthBook's formula as its SDK writes it, with the strings. */
  const literal = (seed: string, value: string) => {
    const fnv = (text: string) => {
      let h = 0x811c9dc5;
      for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
      return h >>> 0;
    };
    return (fnv(String(fnv(seed + value))) % 10000) / 10000;
  };

  it('gives the formula with its strings, for random seeds and ids and every decimal length', () => {
    for (let i = 0; i < 5000; i++) {
      const seed = randomId();
      const value = randomId();
      expect(hash(seed, value, 2)).toBe(literal(seed, value));
    }
    // The first hash's decimal string takes 8 of its 10 possible lengths among these (1 and 2 digits
    // are 100 of 2^32 values).
    const lengths = new Set<number>();
    for (let i = 0; lengths.size < 10 && i < 2_000_000; i++) {
      const value = `u${i}`;
      let h = 0x811c9dc5;
      for (const c of `s${value}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
      const digits = String(h >>> 0).length;
      if (!lengths.has(digits)) {
        lengths.add(digits);
        expect(hash('s', value, 2)).toBe(literal('s', value));
      }
    }
    expect(lengths.size).toBe(8);
  });
});
