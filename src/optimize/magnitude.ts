import { ErrorCode, FerryError } from '../core/errors.js';

/*
 * Magnitude pruning's one rule, shared by every kind that has weights Ferry can read (the text
 * classifier's head, ONNX weight initializers, the online model's buckets).
 */

/** A sparsity from the caller: a number in (0, 1), else FERRY_OPTIMIZE_INVALID. */
export function checkSparsity(sparsity: number): void {
  if (typeof sparsity !== 'number' || !(sparsity > 0 && sparsity < 1)) {
    throw new FerryError(
      ErrorCode.OPTIMIZE_INVALID,
      `magnitude pruning sparsity must be a number in (0, 1), got ${String(sparsity)}`,
    );
  }
}

/** How many of `values` (all weights, concatenated) are set to zero: exactly round(share × count). */
export function zeroSmallest(tensors: readonly Float32Array[], sparsity: number): number {
  const total = tensors.reduce((a, t) => a + t.length, 0);
  const target = Math.round(sparsity * total);
  if (target === 0) return 0;
  const magnitudes = new Float32Array(total);
  let k = 0;
  for (const t of tensors) for (const v of t) magnitudes[k++] = Math.abs(v);
  magnitudes.sort();
  const threshold = magnitudes[target - 1]!;
  // Everything below the threshold goes; ties at it go in order until the target is reached.
  let below = 0;
  for (const t of tensors) for (const v of t) if (Math.abs(v) < threshold) below++;
  let tiesLeft = target - below;
  for (const t of tensors) {
    for (let i = 0; i < t.length; i++) {
      const m = Math.abs(t[i]!);
      if (m < threshold) t[i] = 0;
      else if (m === threshold && tiesLeft > 0) {
        t[i] = 0;
        tiesLeft--;
      }
    }
  }
  return target;
}
