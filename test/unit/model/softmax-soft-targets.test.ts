import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/core/random.js';
import { fitSoftmaxRegression, softmaxObjective } from '../../../src/model/softmax-regression.js';
import { csrFromRows } from '../../../src/model/sparse.js';

function problem(rows: number, cols: number, K: number, seed: number) {
  const rand = seededRandom(seed);
  const vectors = Array.from({ length: rows }, () => {
    const indices: number[] = [];
    const values: number[] = [];
    for (let c = 0; c < cols; c++) {
      if (rand() < 0.4) {
        indices.push(c);
        values.push(rand() * 2 - 1);
      }
    }
    return { indices, values };
  });
  // Every third row is unlabeled (-1): it has only the soft term.
  const y = Int32Array.from({ length: rows }, (_, r) => (r % 3 === 2 ? -1 : r % K));
  const targets = new Float64Array(rows * K);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < K; c++) {
      targets[r * K + c] = rand() + 0.05;
      sum += targets[r * K + c]!;
    }
    for (let c = 0; c < K; c++) targets[r * K + c]! /= sum;
  }
  return { X: csrFromRows(vectors, cols), y, targets };
}

describe('softmax regression with soft targets', () => {
  it('has an analytic gradient equal to the numerical one (central differences)', () => {
    const K = 3;
    const F = 5;
    const { X, y, targets } = problem(24, F, K, 3);
    const classWeights = Float64Array.from([1, 2, 0.5]);
    for (const [temperature, alpha] of [
      [2, 0.3],
      [0.5, 0.8],
      [1, 0],
    ] as const) {
      const f = softmaxObjective(X, y, K, { C: 1.7, classWeights, soft: { targets, temperature, alpha } });
      const rand = seededRandom(11);
      const theta = Float64Array.from({ length: F * K + K }, () => rand() * 2 - 1);
      const grad = new Float64Array(theta.length);
      f(theta, grad);
      const scratch = new Float64Array(theta.length);
      const h = 1e-6;
      for (let i = 0; i < theta.length; i++) {
        const plus = Float64Array.from(theta);
        const minus = Float64Array.from(theta);
        plus[i]! += h;
        minus[i]! -= h;
        const numeric = (f(plus, scratch) - f(minus, scratch)) / (2 * h);
        expect(grad[i]).toBeCloseTo(numeric, 5);
      }
    }
  });

  it('with alpha = 1 and every row labeled, gives the hard-label objective', () => {
    const K = 3;
    const { X, targets } = problem(18, 4, K, 5);
    const y = Int32Array.from({ length: 18 }, (_, r) => r % K);
    const theta = Float64Array.from({ length: 4 * K + K }, (_, i) => Math.sin(i));
    const g1 = new Float64Array(theta.length);
    const g2 = new Float64Array(theta.length);
    const hard = softmaxObjective(X, y, K, { C: 2 })(theta, g1);
    const soft = softmaxObjective(X, y, K, { C: 2, soft: { targets, temperature: 3, alpha: 1 } })(theta, g2);
    expect(soft).toBeCloseTo(hard, 10);
    for (let i = 0; i < theta.length; i++) expect(g2[i]).toBeCloseTo(g1[i]!, 10);
  });

  it('learns the teacher: pure soft targets (alpha 0) on unlabeled rows reproduce the teacher argmax', () => {
    const K = 2;
    const vectors = [
      { indices: [0], values: [1] },
      { indices: [1], values: [1] },
    ];
    const X = csrFromRows(vectors, 2);
    const y = Int32Array.from([-1, -1]);
    const targets = Float64Array.from([0.9, 0.1, 0.2, 0.8]);
    const fit = fitSoftmaxRegression(X, y, K, { C: 100, soft: { targets, temperature: 1, alpha: 0 } });
    const z0 = [fit.theta[0]! + fit.theta[4]!, fit.theta[1]! + fit.theta[5]!];
    const p0 = Math.exp(z0[0]!) / (Math.exp(z0[0]!) + Math.exp(z0[1]!));
    // With little regularisation the fit matches the teacher's distribution, not a one-hot.
    expect(p0).toBeGreaterThan(0.85);
    expect(p0).toBeLessThan(0.95);
  });

  it('keeps masked weights at exactly zero, even when warm-started elsewhere', () => {
    const K = 3;
    const F = 6;
    const { X } = problem(30, F, K, 9);
    const y = Int32Array.from({ length: 30 }, (_, r) => r % K);
    const mask = Uint8Array.from({ length: F * K }, (_, i) => (i % 4 === 0 ? 0 : 1));
    const init = new Float64Array(F * K + K).fill(0.5);
    const fit = fitSoftmaxRegression(X, y, K, { C: 5, gradientMask: mask, init });
    let moved = 0;
    for (let i = 0; i < F * K; i++) {
      if (mask[i] === 0) expect(fit.theta[i]).toBe(0);
      else if (fit.theta[i] !== 0.5) moved++;
    }
    expect(moved).toBeGreaterThan(0);
    // The caller's init is not modified.
    expect(init[0]).toBe(0.5);
  });
});
