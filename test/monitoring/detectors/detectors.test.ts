import { describe, expect, it } from 'vitest';
import { isFerryError } from '../../../src/core/errors.js';
import { seededRandom } from '../../../src/core/random.js';
import type { DetectorName, DetectorState } from '../../../src/monitoring/detector-types.js';
import { createDetector, DETECTOR_NAMES, restoreDetector } from '../../../src/monitoring/detectors/index.js';

function gaussian(random: () => number, mean: number, sd: number): number {
  const u = 1 - random();
  const v = random();
  return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** `before` values of one distribution then `after` of another, from a seeded generator. */
function stream(
  seed: number,
  before: number,
  after: number,
  draw: (r: () => number, changed: boolean) => number,
) {
  const random = seededRandom(seed);
  return Array.from({ length: before + after }, (_, i) => draw(random, i >= before));
}

function alarms(name: DetectorName, values: readonly number[]): number[] {
  const detector = createDetector(name);
  const hits: number[] = [];
  values.forEach((v, i) => {
    if (detector.update(v)) hits.push(i);
  });
  return hits;
}

describe('drift detectors on seeded streams (River defaults)', () => {
  it.each(DETECTOR_NAMES)(
    '%s detects an abrupt mean change of a Gaussian stream within 300 values',
    (name) => {
      for (let seed = 1; seed <= 10; seed++) {
        // Confidences near 0.85 that fall to 0.6: a model meeting texts it does not know.
        const values = stream(seed, 2000, 1000, (r, changed) => gaussian(r, changed ? 0.6 : 0.85, 0.08));
        const after = alarms(name, values).filter((i) => i >= 2000);
        expect(after.length, `seed ${seed}`).toBeGreaterThan(0);
        expect(after[0]! - 2000, `seed ${seed}`).toBeLessThan(300);
      }
    },
  );

  it.each(['adwin', 'page-hinkley'] as const)(
    '%s detects an error rate going from 10 %% to 40 %% within 500 values',
    (name) => {
      for (let seed = 1; seed <= 10; seed++) {
        const values = stream(seed, 2000, 1000, (r, changed) => (r() < (changed ? 0.4 : 0.1) ? 1 : 0));
        const after = alarms(name, values).filter((i) => i >= 2000);
        expect(after.length, `seed ${seed}`).toBeGreaterThan(0);
        expect(after[0]! - 2000, `seed ${seed}`).toBeLessThan(500);
      }
    },
  );

  it('KSWIN needs a large change of a 0/1 stream: 30 against 30 values at alpha 0.005 needs D ≥ 0.47', () => {
    // On 0/1 values D is the gap between the two error rates, so 10 % → 40 % (D ≈ 0.3, p ≈ 0.14)
    // is rarely flagged, as in River; 10 % → 80 % is.
    let missed = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const small = stream(seed, 2000, 1000, (r, changed) => (r() < (changed ? 0.4 : 0.1) ? 1 : 0));
      missed += alarms('kswin', small).filter((i) => i >= 2000).length === 0 ? 1 : 0;
      const large = stream(seed, 2000, 1000, (r, changed) => (r() < (changed ? 0.8 : 0.1) ? 1 : 0));
      const after = alarms('kswin', large).filter((i) => i >= 2000);
      expect(after[0]! - 2000, `seed ${seed}`).toBeLessThan(100);
    }
    expect(missed).toBeGreaterThanOrEqual(5);
  });

  it('ADWIN and Page-Hinkley stay quiet on stationary Bernoulli and Gaussian streams', () => {
    let adwin = 0;
    let ph = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const bernoulli = stream(seed, 5000, 0, (r) => (r() < 0.2 ? 1 : 0));
      const normal = stream(seed + 100, 5000, 0, (r) => gaussian(r, 0.8, 0.1));
      adwin += alarms('adwin', bernoulli).length + alarms('adwin', normal).length;
      ph += alarms('page-hinkley', bernoulli).length + alarms('page-hinkley', normal).length;
    }
    // 100 000 values: ADWIN's δ = 0.002 bounds its false alarms; Page-Hinkley's λ = 50 is far above this noise.
    expect(adwin).toBeLessThanOrEqual(3);
    expect(ph).toBe(0);
  });

  it('KSWIN, testing every value at alpha 0.005, raises false alarms on a stationary stream, as River does', () => {
    // Documented behaviour, not a wish: one test per value with overlapping windows adds up. The
    // bound keeps a regression (say, a p-value ten times too small) visible.
    let total = 0;
    for (let seed = 1; seed <= 10; seed++) {
      total += alarms(
        'kswin',
        stream(seed, 5000, 0, (r) => gaussian(r, 0.8, 0.1)),
      ).length;
    }
    const perThousand = total / 50;
    expect(perThousand).toBeGreaterThan(0.2);
    expect(perThousand).toBeLessThan(5);
  });

  it('KSWIN sees no change on a constant stream (D is 0, p is 1)', () => {
    expect(alarms('kswin', new Array(1000).fill(0.5))).toEqual([]);
  });
});

describe('state round-trip', () => {
  it.each(DETECTOR_NAMES)('%s restored from JSON gives the same outputs and state afterwards', (name) => {
    const values = stream(7, 1500, 1500, (r, changed) => gaussian(r, changed ? 0.5 : 0.8, 0.1));
    for (const cut of [0, 1, 37, 99, 100, 1000, 1600, 2999]) {
      const original = createDetector(name);
      for (const v of values.slice(0, cut)) original.update(v);
      const saved = JSON.stringify(original.toJSON());
      const restored = restoreDetector(JSON.parse(saved) as DetectorState);
      expect(JSON.stringify(restored.toJSON())).toBe(saved);
      expect(restored.seen).toBe(original.seen);
      const a = values.slice(cut).map((v) => original.update(v));
      const b = values.slice(cut).map((v) => restored.update(v));
      expect(b).toEqual(a);
      expect(JSON.stringify(restored.toJSON())).toBe(JSON.stringify(original.toJSON()));
    }
  });

  it('keeps the parameters given', () => {
    const detector = createDetector('page-hinkley', { threshold: 20, mode: 'up' });
    const restored = restoreDetector(JSON.parse(JSON.stringify(detector.toJSON())) as DetectorState);
    expect(restored.toJSON().params.threshold).toBe(20);
    expect((restored.toJSON().state as { mode: string }).mode).toBe('up');
  });

  it('refuses a state that is not one', () => {
    const good = createDetector('kswin').toJSON();
    const bad: unknown[] = [
      null,
      { ...good, name: 'cusum' },
      { ...good, state: { ...(good.state as object), window: [1, 'x'] } },
      { ...good, state: { ...(good.state as object), random: { mt: [1, 2], index: 0 } } },
      { ...createDetector('adwin').toJSON(), state: { rows: [] } },
      { ...createDetector('adwin').toJSON(), params: { delta: -1 } },
    ];
    for (const state of bad) {
      expect(() => restoreDetector(state as DetectorState)).toThrow(
        expect.objectContaining({ code: 'FERRY_MONITOR_INVALID' }),
      );
    }
  });
});

describe('input and parameters', () => {
  it.each(DETECTOR_NAMES)(
    '%s refuses NaN and Infinity with FERRY_MONITOR_DETECTOR_INPUT, state unchanged',
    (name) => {
      const detector = createDetector(name);
      for (let i = 0; i < 150; i++) detector.update(i % 3 === 0 ? 1 : 0);
      const before = JSON.stringify(detector.toJSON());
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        let caught: unknown;
        try {
          detector.update(bad);
        } catch (e) {
          caught = e;
        }
        expect(isFerryError(caught, 'FERRY_MONITOR_DETECTOR_INPUT')).toBe(true);
        expect((caught as { status: number }).status).toBe(400);
      }
      expect(JSON.stringify(detector.toJSON())).toBe(before);
      expect(detector.seen).toBe(150);
    },
  );

  it('uses River defaults and refuses unknown or out-of-range parameters', () => {
    expect(createDetector('adwin').toJSON().params).toEqual({
      delta: 0.002,
      clock: 32,
      maxBuckets: 5,
      minWindowLength: 5,
      gracePeriod: 10,
    });
    expect(createDetector('page-hinkley').toJSON().params).toEqual({
      minInstances: 30,
      delta: 0.005,
      threshold: 50,
      alpha: 1 - 0.0001,
    });
    expect(createDetector('kswin').toJSON().params).toEqual({
      alpha: 0.005,
      windowSize: 100,
      statSize: 30,
      seed: 42,
    });
    for (const [name, params] of [
      ['adwin', { deltaa: 0.1 }],
      ['adwin', { clock: 0 }],
      ['kswin', { statSize: 100 }],
      ['kswin', { seed: 1.5 }],
      ['page-hinkley', { mode: 'sideways' }],
      ['page-hinkley', { threshold: Number.NaN }],
    ] as const) {
      expect(() => createDetector(name, params)).toThrow(
        expect.objectContaining({ code: 'FERRY_MONITOR_INVALID' }),
      );
    }
    expect(() => createDetector('cusum' as DetectorName)).toThrow(
      expect.objectContaining({ code: 'FERRY_MONITOR_INVALID' }),
    );
  });

  it('counts values seen since the start or the last drift', () => {
    const detector = createDetector('page-hinkley');
    let lastDrift = -1;
    const values = stream(3, 500, 500, (r, changed) => gaussian(r, changed ? 5 : 0, 1));
    values.forEach((v, i) => {
      if (detector.update(v)) lastDrift = i;
    });
    expect(lastDrift).toBeGreaterThan(500);
    expect(detector.seen).toBe(values.length - 1 - lastDrift);
  });
});
