/**
 * Adjusted p-values for m simultaneous comparisons (several metrics or arms), returned in the
 * input's order; reject where adjusted p < α.
 *
 * Holm (controls the family-wise error rate), with p₍₁₎ ≤ … ≤ p₍ₘ₎:
 *   p̃₍ᵢ₎ = max_{j ≤ i} min(1, (m − j + 1)·p₍ⱼ₎)
 * Benjamini–Hochberg (controls the false discovery rate, for independent or positively dependent
 * tests):
 *   p̃₍ᵢ₎ = min_{j ≥ i} min(1, m·p₍ⱼ₎ / j)
 */
import { invalidStatsInput } from './validate.js';

function validate(pValues: readonly number[]): void {
  pValues.forEach((p, i) => {
    if (!(p >= 0 && p <= 1)) throw invalidStatsInput('p-values must be within [0, 1]', { index: i, p });
  });
}

function ascendingOrder(pValues: readonly number[]): number[] {
  return pValues.map((_, i) => i).sort((a, b) => pValues[a]! - pValues[b]! || a - b);
}

export function holm(pValues: readonly number[]): number[] {
  validate(pValues);
  const m = pValues.length;
  const order = ascendingOrder(pValues);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach((index, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[index]!));
    adjusted[index] = running;
  });
  return adjusted;
}

export function benjaminiHochberg(pValues: readonly number[]): number[] {
  validate(pValues);
  const m = pValues.length;
  const order = ascendingOrder(pValues);
  const adjusted = new Array<number>(m);
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const index = order[rank]!;
    running = Math.min(running, (m * pValues[index]!) / (rank + 1));
    adjusted[index] = running;
  }
  return adjusted;
}

export type CorrectionMethod = 'holm' | 'bh' | 'none';

export function adjustPValues(pValues: readonly number[], method: CorrectionMethod): number[] {
  if (method === 'holm') return holm(pValues);
  if (method === 'bh') return benjaminiHochberg(pValues);
  validate(pValues);
  return [...pValues];
}
