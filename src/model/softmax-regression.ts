import { minimizeLbfgs } from './lbfgs.js';
import type { CsrMatrix } from './sparse.js';

export interface SoftmaxFitOptions {
  /** Inverse regularisation strength, as scikit-learn's C: loss = C·Σ wᵢ·nll + ½‖W‖². */
  C: number;
  /** Per-class weights on the loss (e.g. "balanced"); defaults to 1. */
  classWeights?: Float64Array;
  maxIterations?: number;
  /** Start from these parameters (warm start across a grid of C values). */
  init?: Float64Array;
  onIteration?: (iteration: number, value: number) => void;
}

/** Parameters: a [features × classes] weight block followed by one bias per class (not penalised). */
export interface SoftmaxParams {
  readonly features: number;
  readonly classes: number;
  readonly theta: Float64Array;
}

export function fitSoftmaxRegression(
  X: CsrMatrix,
  y: Int32Array,
  classes: number,
  options: SoftmaxFitOptions,
): SoftmaxParams & { iterations: number; converged: boolean } {
  const F = X.cols;
  const K = classes;
  const biasAt = F * K;
  const cw = options.classWeights ?? new Float64Array(K).fill(1);
  const z = new Float64Array(K);

  const objective = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    for (let r = 0; r < X.rows; r++) {
      const a = X.rowStart[r]!;
      const b = X.rowStart[r + 1]!;
      for (let c = 0; c < K; c++) z[c] = theta[biasAt + c]!;
      for (let p = a; p < b; p++) {
        const base = X.indices[p]! * K;
        const v = X.values[p]!;
        for (let c = 0; c < K; c++) z[c]! += v * theta[base + c]!;
      }
      let max = z[0]!;
      for (let c = 1; c < K; c++) max = Math.max(max, z[c]!);
      let sum = 0;
      for (let c = 0; c < K; c++) {
        z[c] = Math.exp(z[c]! - max);
        sum += z[c]!;
      }
      const label = y[r]!;
      const w = options.C * cw[label]!;
      loss -= w * Math.log(z[label]! / sum);
      for (let c = 0; c < K; c++) z[c] = w * (z[c]! / sum - (c === label ? 1 : 0));
      for (let p = a; p < b; p++) {
        const base = X.indices[p]! * K;
        const v = X.values[p]!;
        for (let c = 0; c < K; c++) grad[base + c]! += v * z[c]!;
      }
      for (let c = 0; c < K; c++) grad[biasAt + c]! += z[c]!;
    }
    for (let i = 0; i < biasAt; i++) {
      loss += 0.5 * theta[i]! * theta[i]!;
      grad[i]! += theta[i]!;
    }
    return loss;
  };

  const init = options.init ?? new Float64Array(F * K + K);
  const result = minimizeLbfgs(objective, init, {
    maxIterations: options.maxIterations ?? 500,
    gradientTolerance: 1e-4,
    functionTolerance: 1e-10,
    ...(options.onIteration ? { onIteration: options.onIteration } : {}),
  });
  return {
    features: F,
    classes: K,
    theta: result.x,
    iterations: result.iterations,
    converged: result.converged,
  };
}

/** Writes class probabilities for one sparse row into `out`. */
export function softmaxProbabilities(
  weights: Float32Array | Float64Array,
  bias: Float32Array | Float64Array,
  classes: number,
  indices: readonly number[],
  values: readonly number[],
  out: Float64Array,
): void {
  for (let c = 0; c < classes; c++) out[c] = bias[c]!;
  for (let p = 0; p < indices.length; p++) {
    const base = indices[p]! * classes;
    const v = values[p]!;
    for (let c = 0; c < classes; c++) out[c]! += v * weights[base + c]!;
  }
  softmaxInPlace(out, classes);
}

/** Turns the first `classes` logits of `out` into probabilities (max-shifted for stability). */
export function softmaxInPlace(out: Float64Array, classes: number): void {
  let max = out[0]!;
  for (let c = 1; c < classes; c++) max = Math.max(max, out[c]!);
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    out[c] = Math.exp(out[c]! - max);
    sum += out[c]!;
  }
  for (let c = 0; c < classes; c++) out[c]! /= sum;
}
