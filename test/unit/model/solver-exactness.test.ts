import { describe, expect, it } from 'vitest';
import { minimizeLbfgs } from '../../../src/model/lbfgs.js';
import { fitSoftmaxRegression, softmaxObjective } from '../../../src/model/softmax-regression.js';
import { type CsrMatrix, csrFromRows } from '../../../src/model/sparse.js';
import { minimizeLbfgs as referenceLbfgs } from '../../helpers/lbfgs-reference.js';
import {
  fitSoftmaxRegression as referenceFit,
  softmaxObjective as referenceObjective,
} from '../../helpers/softmax-reference.js';

// Issue 16 made training faster: the solver's passes are fused, the four-class objective is
// unrolled, and the long sums keep four partial sums instead of one serial chain. The last changes
// the rounding of those sums, so the fit is no longer the old code's bit for bit; it is still
// deterministic. These tests hold the solver to the verbatim copies of the code before within
// rounding, and to itself bit for bit.

/** A deterministic pseudo-random sparse problem (mulberry32), shaped like tf-idf rows. */
function problem(rows: number, cols: number, classes: number, seed: number) {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const data = Array.from({ length: rows }, () => {
    const picked = new Set<number>();
    const nnz = 3 + Math.floor(rand() * 20);
    while (picked.size < nnz) picked.add(Math.floor(rand() * cols));
    const indices = [...picked].sort((a, b) => a - b);
    return { indices, values: indices.map(() => rand()) };
  });
  const X: CsrMatrix = csrFromRows(data, cols);
  const y = Int32Array.from({ length: rows }, () => Math.floor(rand() * classes));
  const theta = Float64Array.from({ length: cols * classes + classes }, () => (rand() - 0.5) * 0.2);
  return { X, y, theta, rand };
}

const sameBits = (a: Float64Array, b: Float64Array) =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/** The largest |a − b| over the largest |b|: rounding differences are ~1e-15 of the values summed. */
function relativeGap(a: Float64Array, b: Float64Array): number {
  let gap = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    gap = Math.max(gap, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return gap / scale;
}

describe('the four-class objective', () => {
  it('gives the reference loss and gradient within rounding, with class weights and a mask', () => {
    const { X, y, theta, rand } = problem(300, 500, 4, 7);
    const classWeights = Float64Array.from([1.7, 0.4, 1, 2.3]);
    const gradientMask = Uint8Array.from({ length: 500 * 4 }, () => (rand() < 0.3 ? 0 : 1));
    for (const options of [{ C: 30 }, { C: 3, classWeights }, { C: 100, classWeights, gradientMask }]) {
      const g1 = new Float64Array(theta.length);
      const g2 = new Float64Array(theta.length);
      const fast = softmaxObjective(X, y, 4, options)(theta, g1);
      const reference = referenceObjective(X, y, 4, options)(theta, g2);
      expect(Math.abs(fast - reference) / Math.abs(reference)).toBeLessThan(1e-13);
      expect(relativeGap(g1, g2)).toBeLessThan(1e-13);
      const mask = 'gradientMask' in options ? options.gradientMask : undefined;
      mask?.forEach((m, i) => {
        if (m === 0) expect(g1[i]).toBe(0);
      });
    }
  });

  it('fits the reference parameters within rounding, warm-started or not, and the same bits twice', () => {
    const { X, y } = problem(400, 800, 4, 11);
    const classWeights = Float64Array.from([0.8, 1.2, 1, 1.5]);
    // The reference stopped at 1e-4; so does this fit, to compare like with like.
    const gradientTolerance = 1e-4;
    const a = fitSoftmaxRegression(X, y, 4, { C: 10, classWeights, gradientTolerance });
    const b = referenceFit(X, y, 4, { C: 10, classWeights });
    expect(Math.abs(a.iterations - b.iterations)).toBeLessThanOrEqual(2);
    expect(a.iterations).toBeGreaterThan(10); // the history filled and pairs were pushed out
    // Both stop at a gradient tolerance, so they agree to that, not to rounding.
    expect(relativeGap(a.theta, b.theta)).toBeLessThan(1e-4);
    const warmA = fitSoftmaxRegression(X, y, 4, { C: 30, classWeights, init: a.theta, gradientTolerance });
    const warmB = referenceFit(X, y, 4, { C: 30, classWeights, init: b.theta });
    expect(relativeGap(warmA.theta, warmB.theta)).toBeLessThan(1e-4);
    const again = fitSoftmaxRegression(X, y, 4, { C: 10, classWeights, gradientTolerance });
    expect(sameBits(again.theta, a.theta)).toBe(true);
  });
});

describe('the fused L-BFGS', () => {
  it('takes the reference’s path within rounding on the general (three-class) objective', () => {
    const { X, y } = problem(250, 400, 3, 3);
    const f = softmaxObjective(X, y, 3, { C: 50 });
    const x0 = new Float64Array(400 * 3 + 3);
    const values: number[][] = [[], []];
    const a = minimizeLbfgs(f, x0, { onIteration: (_, v) => values[0]!.push(v) });
    const b = referenceLbfgs(f, x0, { onIteration: (_, v) => values[1]!.push(v) });
    expect(a.iterations).toBeGreaterThan(10);
    const shared = Math.min(values[0]!.length, values[1]!.length);
    for (let i = 0; i < shared; i++)
      expect(Math.abs(values[0]![i]! - values[1]![i]!) / values[1]![i]!).toBeLessThan(1e-9);
    expect(Math.abs(a.value - b.value) / b.value).toBeLessThan(1e-9);
    expect(relativeGap(a.x, b.x)).toBeLessThan(1e-5);
    const again = minimizeLbfgs(f, x0);
    expect(sameBits(again.x, a.x)).toBe(true);
  });

  it('reaches the reference minimum where curvature pairs are rejected and the history restarts', () => {
    // |x|^1.5-like valleys give steps whose s·y is tiny or negative along some coordinates.
    const n = 40;
    const f = (x: Float64Array, g: Float64Array): number => {
      let v = 0;
      for (let i = 0; i < n; i++) {
        const t = x[i]! - Math.sin(i);
        v += Math.abs(t) ** 1.5 + 0.01 * t * t * (i % 3);
        g[i] = 1.5 * Math.sign(t) * Math.abs(t) ** 0.5 + 0.02 * t * (i % 3);
      }
      return v;
    };
    for (const memory of [1, 3, 10]) {
      const a = minimizeLbfgs(f, new Float64Array(n), { memory, maxIterations: 300 });
      const b = referenceLbfgs(f, new Float64Array(n), { memory, maxIterations: 300 });
      expect(Math.abs(a.value - b.value)).toBeLessThan(1e-6);
      const again = minimizeLbfgs(f, new Float64Array(n), { memory, maxIterations: 300 });
      expect(sameBits(again.x, a.x)).toBe(true);
    }
  });
});
