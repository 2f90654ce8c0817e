import type { FeatureValue } from '../../ports/online-feature-store.js';
import type { AggregationFn, FeatureType } from '../feature-definitions.js';
import { coerceValue } from '../feature-values.js';
import { describe, isFiniteNumber } from './feature-types.js';

/*
 * Accumulators of the window aggregations. Each is mergeable (session windows merge: the result of
 * merging two accumulators equals the accumulator of the union of their events) and has a JSON form
 * (the processor keeps them in SQL between batches). Every result is independent of the order in
 * which events were added: `last` breaks ties of event time by event id, sums are compensated.
 *
 * Values are prepared first (`prepareFields`): converted to the type the aggregation reads with
 * the rule of every source (`feature-values.ts`: `"42"` from a CSV cell is the number 42), or
 * refused with the reason (the caller's dead letter or bad row), never silently skipped. Values
 * that are null, absent or empty are skipped by every aggregation but `count` without a field
 * (SQL's rule: COUNT(*) counts rows, SUM(x) skips NULL).
 */

/** Neumaier's compensated sum: `s + c` is the sum, nearly independent of the order of additions. */
interface Sum {
  s: number;
  c: number;
  n: number;
}
interface Last {
  t: number;
  id: string;
  v: FeatureValue;
}

/** The in-memory accumulator of one aggregation (see `toJson`/`fromJson` for the stored form). */
export type Acc = number | null | Sum | Last | Map<string, number>;

export interface EventRef {
  readonly id: string;
  readonly eventTimeMs: number;
}

interface Impl {
  empty(): Acc;
  /** Adds one value (never null/undefined: those are filtered by the caller). */
  add(acc: Acc, value: unknown, ev: EventRef): Acc;
  merge(a: Acc, b: Acc): Acc;
  result(acc: Acc, k: number): FeatureValue;
  /** Why the value cannot be aggregated (for functions whose values have no declared type). */
  problem(value: unknown): string | undefined;
  toJson(acc: Acc): unknown;
  fromJson(json: unknown): Acc;
}

function addSum(acc: Sum, x: number): Sum {
  const t = acc.s + x;
  // Neumaier: keep the low-order bits lost by the addition.
  if (Math.abs(acc.s) >= Math.abs(x)) acc.c += acc.s - t + x;
  else acc.c += x - t + acc.s;
  acc.s = t;
  acc.n += 1;
  return acc;
}
function mergeSum(a: Sum, b: Sum): Sum {
  const merged = addSum({ s: a.s, c: a.c + b.c, n: a.n }, b.s);
  merged.n = a.n + b.n;
  return merged;
}

const numeric = (value: unknown) =>
  isFiniteNumber(value) ? undefined : `must be a finite number, not ${describe(value)}`;
const scalar = (value: unknown) =>
  typeof value === 'string' || isFiniteNumber(value) || typeof value === 'boolean'
    ? undefined
    : `must be a string, number or boolean, not ${describe(value)}`;
/** The key a value counts under in distinct_count, top_k and count_by: its text (1 and "1" are one key). */
const keyOf = (value: unknown) => String(value);

const sumJson = {
  toJson: (acc: Acc) => {
    const s = acc as Sum;
    return [s.s, s.c, s.n];
  },
  fromJson: (json: unknown): Acc => {
    const [s, c, n] = json as [number, number, number];
    return { s, c, n };
  },
};

const counts = {
  empty: (): Acc => new Map<string, number>(),
  add(acc: Acc, value: unknown): Acc {
    const m = acc as Map<string, number>;
    const key = keyOf(value);
    m.set(key, (m.get(key) ?? 0) + 1);
    return m;
  },
  merge(a: Acc, b: Acc): Acc {
    const m = new Map(a as Map<string, number>);
    for (const [key, n] of b as Map<string, number>) m.set(key, (m.get(key) ?? 0) + n);
    return m;
  },
  problem: scalar,
  // Pairs, not an object: a value such as "__proto__" must stay a plain key.
  toJson: (acc: Acc) => [...(acc as Map<string, number>)],
  fromJson: (json: unknown): Acc => new Map(json as [string, number][]),
};

const IMPLS: Readonly<Record<AggregationFn, Impl>> = {
  count: {
    empty: () => 0,
    add: (acc) => (acc as number) + 1,
    merge: (a, b) => (a as number) + (b as number),
    result: (acc) => acc as number,
    problem: () => undefined,
    toJson: (acc) => acc,
    fromJson: (json) => json as number,
  },
  sum: {
    empty: () => ({ s: 0, c: 0, n: 0 }),
    add: (acc, value) => addSum(acc as Sum, value as number),
    merge: (a, b) => mergeSum(a as Sum, b as Sum),
    result: (acc) => (acc as Sum).s + (acc as Sum).c,
    problem: numeric,
    ...sumJson,
  },
  mean: {
    empty: () => ({ s: 0, c: 0, n: 0 }),
    add: (acc, value) => addSum(acc as Sum, value as number),
    merge: (a, b) => mergeSum(a as Sum, b as Sum),
    result: (acc) => {
      const s = acc as Sum;
      return s.n === 0 ? null : (s.s + s.c) / s.n;
    },
    problem: numeric,
    ...sumJson,
  },
  min: {
    empty: () => null,
    add: (acc, value) => (acc === null ? (value as number) : Math.min(acc as number, value as number)),
    merge: (a, b) => (a === null ? b : b === null ? a : Math.min(a as number, b as number)),
    result: (acc) => acc as number | null,
    problem: numeric,
    toJson: (acc) => acc,
    fromJson: (json) => json as number | null,
  },
  max: {
    empty: () => null,
    add: (acc, value) => (acc === null ? (value as number) : Math.max(acc as number, value as number)),
    merge: (a, b) => (a === null ? b : b === null ? a : Math.max(a as number, b as number)),
    result: (acc) => acc as number | null,
    problem: numeric,
    toJson: (acc) => acc,
    fromJson: (json) => json as number | null,
  },
  last: {
    empty: () => null,
    add: (acc, value, ev) =>
      newer(acc as Last | null, { t: ev.eventTimeMs, id: ev.id, v: value as FeatureValue }),
    merge: (a, b) => (b === null ? a : newer(a as Last | null, b as Last)),
    result: (acc) => (acc === null ? null : (acc as Last).v),
    // The value's type is checked against the feature's declared type by the caller.
    problem: () => undefined,
    toJson: (acc) => acc,
    fromJson: (json) => json as Last | null,
  },
  distinct_count: { ...counts, result: (acc) => (acc as Map<string, number>).size },
  top_k: {
    ...counts,
    result: (acc, k) =>
      [...(acc as Map<string, number>)]
        .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
        .slice(0, k)
        .map(([key]) => key),
  },
  count_by: {
    ...counts,
    // Keys sorted, so the result does not depend on the order events came in; Object.fromEntries
    // defines own properties, so a "__proto__" key stays a key.
    result: (acc) => Object.fromEntries([...(acc as Map<string, number>)].sort(byKey)),
  },
};

function byKey(a: [string, number], b: [string, number]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** The newer of two `last` candidates: later event time, then the larger event id (order-free). */
function newer(a: Last | null, b: Last): Last {
  if (a === null) return b;
  if (b.t !== a.t) return b.t > a.t ? b : a;
  return b.id > a.id ? b : a;
}

/** One aggregation of a view, compiled: its function, the field it reads and `k` for top_k. */
export interface CompiledAggregation {
  readonly name: string;
  readonly fn: AggregationFn;
  readonly field: string | undefined;
  readonly k: number;
  /**
   * The type the field's values must have, when the feature's declared type decides it (`sum`,
   * `min`, `max` and `last` give values of the field's type); otherwise the function's own rule.
   */
  readonly valueType: FeatureType | undefined;
}

export function emptyAcc(agg: CompiledAggregation): Acc {
  return IMPLS[agg.fn].empty();
}

export type Prepared =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: string };

/**
 * A raw field value as this aggregation reads it: null when it is missing (null, absent, empty
 * text), converted to the type it reads, or refused with the reason.
 */
export function prepareValue(agg: CompiledAggregation, raw: unknown): Prepared {
  if (raw === undefined || raw === null || raw === '') return { ok: true, value: null };
  if (agg.valueType !== undefined) {
    const r = coerceValue(agg.valueType, raw);
    return r.ok ? { ok: true, value: r.value } : { ok: false, reason: `${agg.field}: ${r.reason}` };
  }
  const problem = IMPLS[agg.fn].problem(raw);
  return problem === undefined ? { ok: true, value: raw } : { ok: false, reason: `${agg.field}: ${problem}` };
}

/**
 * Adds an event's prepared value (`prepareValue`) to the accumulator, in place when it can. A null
 * value is skipped, except by `count` without a field, which counts every event.
 */
export function addToAcc(agg: CompiledAggregation, acc: Acc, value: unknown, ev: EventRef): Acc {
  if (agg.field === undefined) return IMPLS[agg.fn].add(acc, true, ev);
  return value === null || value === undefined ? acc : IMPLS[agg.fn].add(acc, value, ev);
}

/** The accumulator of the union of both accumulators' events; neither argument is changed. */
export function mergeAccs(agg: CompiledAggregation, a: Acc, b: Acc): Acc {
  return IMPLS[agg.fn].merge(cloneAcc(a), b);
}

export function accResult(agg: CompiledAggregation, acc: Acc): FeatureValue {
  return IMPLS[agg.fn].result(acc, agg.k);
}

export function accToJson(agg: CompiledAggregation, acc: Acc): unknown {
  return IMPLS[agg.fn].toJson(acc);
}

export function accFromJson(agg: CompiledAggregation, json: unknown): Acc {
  return IMPLS[agg.fn].fromJson(json);
}

function cloneAcc(acc: Acc): Acc {
  if (acc instanceof Map) return new Map(acc);
  if (acc !== null && typeof acc === 'object') return { ...acc } as Acc;
  return acc;
}
