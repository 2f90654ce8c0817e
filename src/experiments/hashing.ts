/**
 * Deterministic, sticky assignment of units to arms, bit-for-bit compatible with GrowthBook's SDKs
 * (github.com/growthbook/growthbook, packages/sdk-js/src/util.ts), so a service in another language
 * running a GrowthBook SDK with the same seed, weights and coverage puts every unit in the same arm.
 *
 * Layout of the unit interval: arm i owns `[start_i, start_i + coverage * w_i)` where
 * `start_i = w_0 + … + w_{i-1}`. A unit whose hash falls in no range is outside the experiment.
 *
 * What this layout guarantees (and what it does not):
 * - Stickiness: the hash is a pure function of (seed, unit id), so a unit's arm changes only when
 *   the ranges change.
 * - Raising coverage only extends each range's end (starts do not move), so every unit already in
 *   keeps its arm; lowering coverage only drops units out, it never moves one to another arm.
 * - Changing weights moves starts, so a unit moves exactly when its hash leaves its arm's range:
 *   a unit whose hash is still inside its arm's new range never moves. With two arms the share
 *   that moves is |Δw|, the least possible. With three or more arms the contiguous layout can move
 *   more than the least possible (e.g. ⅓/⅓/⅓ → ½/¼/¼ moves 25 % where 16.7 % would suffice);
 *   `reassignedShare` tells the caller how much a change would move before it is made.
 */
import { ErrorCode, FerryError } from '../core/errors.js';

export type BucketRange = readonly [start: number, end: number];

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a 32-bit over UTF-16 code units, as GrowthBook's JS SDK does (`charCodeAt`, XOR of the whole
 * 16-bit unit, not of UTF-8 bytes). For ASCII ids every SDK agrees; for non-ASCII ids this matches
 * the JS SDK, and the Python SDK for characters in the Basic Multilingual Plane.
 */
export function fnv1a32(text: string): number {
  return fnvFold(FNV_OFFSET_BASIS, text) >>> 0;
}

/** FNV-1a continued over `text` from state `h`: fnvFold(fnvFold(b, x), y) is the hash of x + y. */
function fnvFold(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}

const DIGITS = new Uint8Array(10);

/** fnv1a32(String(n)) for a uint32 `n`: its decimal digits, most significant first, without the string. */
function fnvOfDecimal(n: number): number {
  let len = 0;
  do {
    DIGITS[len++] = n % 10;
    n = Math.floor(n / 10);
  } while (n > 0);
  let h = FNV_OFFSET_BASIS;
  for (let i = len - 1; i >= 0; i--) h = Math.imul(h ^ (48 + DIGITS[i]!), FNV_PRIME);
  return h >>> 0;
}

/**
 * GrowthBook's hash into [0, 1). Version 2 (used for new experiments) hashes the decimal string of
 * a first hash to remove the bias version 1 has for similar ids; version 1 is kept for parity.
 * Unknown versions give null, as in the SDKs.
 */
export function hash(seed: string, value: string, version: number): number | null {
  // The same bits as fnv1a32(String(fnv1a32(seed + value))), without building either string: the
  // router hashes every routed request.
  if (version === 2)
    return (fnvOfDecimal(fnvFold(fnvFold(FNV_OFFSET_BASIS, seed), value) >>> 0) % 10000) / 10000;
  if (version === 1) return (fnv1a32(value + seed) % 1000) / 1000;
  return null;
}

export function getEqualWeights(n: number): number[] {
  if (n <= 0) return [];
  return new Array<number>(n).fill(1 / n);
}

/**
 * GrowthBook's bucket ranges. Faithful to the SDK, including its lenient fallbacks (coverage clamped
 * to [0, 1]; equal weights when the weights are missing, of the wrong length or do not sum to
 * 1 ± 0.01), so that parity holds; callers that want errors validate first (see `assign`).
 */
export function getBucketRanges(
  numVariations: number,
  coverage = 1,
  weights?: readonly number[] | null,
): BucketRange[] {
  const c = Math.min(1, Math.max(0, coverage));
  const equal = getEqualWeights(numVariations);
  let w: readonly number[] = weights ?? equal;
  if (w.length !== numVariations) w = equal;
  const total = w.reduce((sum, x) => sum + x, 0);
  if (total < 0.99 || total > 1.01) w = equal;
  let cumulative = 0;
  return w.map((weight) => {
    const start = cumulative;
    cumulative += weight;
    return [start, start + c * weight] as const;
  });
}

/** Half-open, so a hash on a boundary belongs to the arm that starts there. */
export function inRange(n: number, range: BucketRange): boolean {
  return n >= range[0] && n < range[1];
}

/** The index of the first range containing `n`, or -1 (outside the experiment's coverage). */
export function chooseVariation(n: number, ranges: readonly BucketRange[]): number {
  for (let i = 0; i < ranges.length; i++) {
    if (inRange(n, ranges[i]!)) return i;
  }
  return -1;
}

/** GrowthBook namespaces: `[name, start, end]` carve mutually exclusive slices of the population. */
export function inNamespace(hashValue: string, namespace: readonly [string, number, number]): boolean {
  const n = hash(`__${namespace[0]}`, hashValue, 1);
  if (n === null) return false;
  return n >= namespace[1] && n < namespace[2];
}

export interface AssignableExperiment {
  /** Defaults to the experiment's name upstream, so anyone can recompute an assignment. */
  seed: string;
  weights: readonly number[];
  /** Share of units in the experiment, [0, 1]; default 1. */
  coverage?: number;
}

/** Tolerance GrowthBook itself uses before falling back to equal weights. */
const WEIGHT_SUM_TOLERANCE = 0.01;

/**
 * The arm index of `unitId` (hash version 2), or -1 when the unit is outside the coverage.
 * Unlike `getBucketRanges`, invalid weights or coverage throw instead of silently becoming equal
 * weights: a silent fallback would route traffic differently from what the operator configured.
 */
export function assign(experiment: AssignableExperiment, unitId: string): number {
  validateAssignable(experiment);
  const ranges = getBucketRanges(experiment.weights.length, experiment.coverage ?? 1, experiment.weights);
  return chooseVariation(hash(experiment.seed, unitId, 2)!, ranges);
}

function validateAssignable(experiment: AssignableExperiment): void {
  const { weights, coverage } = experiment;
  const fail = (message: string, details: Record<string, unknown>): never => {
    throw new FerryError(ErrorCode.EXPERIMENT_INVALID_WEIGHTS, message, { details });
  };
  if (weights.length === 0) fail('an experiment needs at least one arm', { weights });
  if (weights.some((w) => !Number.isFinite(w) || w < 0)) {
    fail('weights must be finite and non-negative', { weights });
  }
  const total = weights.reduce((sum, w) => sum + w, 0);
  if (Math.abs(total - 1) > WEIGHT_SUM_TOLERANCE) fail('weights must sum to 1', { weights, total });
  if (coverage !== undefined && !(coverage >= 0 && coverage <= 1)) {
    fail('coverage must be within [0, 1]', { coverage });
  }
}

/**
 * The share of all units whose arm changes when the ranges go from `before` to `after` (units
 * entering or leaving coverage not counted): the measure of ⋃_i (before_i ∩ ⋃_{j≠i} after_j).
 * Exact because GrowthBook's ranges of one layout never overlap.
 */
export function reassignedShare(before: readonly BucketRange[], after: readonly BucketRange[]): number {
  let moved = 0;
  for (let i = 0; i < before.length; i++) {
    for (let j = 0; j < after.length; j++) {
      if (i === j) continue;
      const lo = Math.max(before[i]![0], after[j]![0]);
      const hi = Math.min(before[i]![1], after[j]![1]);
      if (hi > lo) moved += hi - lo;
    }
  }
  return moved;
}
