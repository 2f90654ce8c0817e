import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/core/random.js';
import {
  DEFAULT_GRADIENT_TOLERANCE,
  fitSoftmaxRegression,
  softmaxProbabilities,
} from '../../../src/model/softmax-regression.js';
import { csrFromRows } from '../../../src/model/sparse.js';

function randomProblem(rows: number, cols: number, classes: number, seed: number) {
  const rand = seededRandom(seed);
  const vectors = Array.from({ length: rows }, () => {
    const indices: number[] = [];
    const values: number[] = [];
    for (let c = 0; c < cols; c++) {
      if (rand() < 0.3) {
        indices.push(c);
        values.push(rand() * 2 - 1);
      }
    }
    return { indices, values };
  });
  const y = Int32Array.from({ length: rows }, (_, r) => r % classes);
  return { X: csrFromRows(vectors, cols), y, vectors };
}

describe('fitSoftmaxRegression', () => {
  it.each([
    [undefined, DEFAULT_GRADIENT_TOLERANCE],
    [1e-4, 1e-3],
  ])(
    'reaches a stationary point: the penalised loss gradient is ~0 at the solution (tolerance %s)',
    (gradientTolerance, bound) => {
      const { X, y } = randomProblem(60, 8, 3, 7);
      const C = 2;
      const fit = fitSoftmaxRegression(X, y, 3, { C, ...(gradientTolerance ? { gradientTolerance } : {}) });
      const K = 3;
      const W = fit.theta;
      // Recompute the gradient independently, dense and straightforward.
      const grad = new Float64Array(W.length);
      for (let r = 0; r < X.rows; r++) {
        const z = [0, 1, 2].map((c) => W[8 * K + c]!);
        for (let p = X.rowStart[r]!; p < X.rowStart[r + 1]!; p++)
          for (let c = 0; c < K; c++) z[c]! += X.values[p]! * W[X.indices[p]! * K + c]!;
        const m = Math.max(...z);
        const e = z.map((v) => Math.exp(v - m));
        const s = e.reduce((a, b) => a + b, 0);
        for (let c = 0; c < K; c++) {
          const d = C * (e[c]! / s - (c === y[r] ? 1 : 0));
          for (let p = X.rowStart[r]!; p < X.rowStart[r + 1]!; p++)
            grad[X.indices[p]! * K + c]! += X.values[p]! * d;
          grad[8 * K + c]! += d;
        }
      }
      for (let i = 0; i < 8 * K; i++) grad[i]! += W[i]!;
      expect(Math.max(...Array.from(grad, Math.abs))).toBeLessThan(bound);
    },
  );

  it('separates linearly separable classes and gives probabilities that sum to 1', () => {
    const vectors = [
      { indices: [0], values: [1] },
      { indices: [0], values: [0.9] },
      { indices: [1], values: [1] },
      { indices: [1], values: [0.8] },
    ];
    const X = csrFromRows(vectors, 2);
    const y = Int32Array.from([0, 0, 1, 1]);
    const fit = fitSoftmaxRegression(X, y, 2, { C: 100 });
    const W = fit.theta.subarray(0, 4);
    const b = fit.theta.subarray(4);
    const out = new Float64Array(2);
    vectors.forEach((v, r) => {
      softmaxProbabilities(W, b, 2, v.indices, v.values, out);
      expect(out[0]! + out[1]!).toBeCloseTo(1, 12);
      expect(out[y[r]!]).toBeGreaterThan(0.9);
    });
  });

  it('is deterministic: the same problem gives the same bits', () => {
    const { X, y } = randomProblem(40, 6, 3, 3);
    const a = fitSoftmaxRegression(X, y, 3, { C: 5 });
    const b = fitSoftmaxRegression(X, y, 3, { C: 5 });
    expect(Buffer.from(a.theta.buffer).equals(Buffer.from(b.theta.buffer))).toBe(true);
  });
});
