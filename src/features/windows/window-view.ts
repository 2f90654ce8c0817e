import { parseDuration } from '../../core/duration.js';
import { ErrorCode, FerryError } from '../../core/errors.js';
import type { AggregationFn, Duration, FeatureType, FeatureViewDef } from '../feature-definitions.js';
import { DEFAULT_TOP_K, TOP_K_MAX } from '../validate-definitions.js';
import type { CompiledAggregation } from './accumulators.js';

/** A window definition with its durations in milliseconds. */
export type WindowSpec =
  | { readonly type: 'tumbling'; readonly sizeMs: number }
  | { readonly type: 'hopping'; readonly sizeMs: number; readonly hopMs: number }
  | { readonly type: 'session'; readonly gapMs: number };

/** A view of kind `window`, checked and compiled once: what the engine runs. */
export interface WindowView {
  readonly name: string;
  readonly window: WindowSpec;
  readonly allowedLatenessMs: number;
  readonly ttlMs: number;
  /**
   * How long a window is kept after the watermark passed its end: the view's TTL (a value older
   * than that is not served anyway), at least one window length. Pruned windows are all final, so
   * an event that would have gone into one is late whether it is kept or not.
   */
  readonly retentionMs: number;
  readonly aggregations: readonly CompiledAggregation[];
}

/** Which declared types each aggregation may produce (`validate-definitions.ts` says the same). */
const RESULT_TYPES: Readonly<Record<AggregationFn, readonly FeatureType[] | 'any'>> = {
  count: ['int64'],
  sum: ['float64', 'int64'],
  mean: ['float64'],
  min: ['float64', 'int64'],
  max: ['float64', 'int64'],
  last: 'any',
  distinct_count: ['int64'],
  top_k: ['string_list'],
  count_by: ['map'],
};
/** The functions whose field values have the feature's declared type (the others have their own rule). */
const TYPED_BY_FEATURE: ReadonlySet<AggregationFn> = new Set(['sum', 'min', 'max', 'last']);
/** Hopping windows per event: more would make every event cost that many state updates. */
const MAX_WINDOWS_PER_EVENT = 1000;

function invalid(where: string, message: string): FerryError {
  return new FerryError(ErrorCode.FEATURES_INVALID, `${where}: ${message}`, { details: { field: where } });
}

/**
 * Checks a `window` view and compiles it; FERRY_FEATURES_INVALID naming the field otherwise. The
 * definition loader reports every problem of a file at once; this is the engine's own guard, for
 * definitions that reach it another way (the library API).
 */
export function compileWindowView(view: FeatureViewDef): WindowView {
  const where = `views.${view.name}`;
  const t = view.transform;
  if (t.kind !== 'window') throw invalid(`${where}.transform`, 'is not a window transform');
  const w = t.window;
  let window: WindowSpec;
  if (w.type === 'tumbling') {
    window = { type: 'tumbling', sizeMs: positive(w.size, `${where}.transform.window.size`) };
  } else if (w.type === 'hopping') {
    const sizeMs = positive(w.size, `${where}.transform.window.size`);
    const hopMs = positive(w.hop, `${where}.transform.window.hop`);
    if (hopMs > sizeMs) throw invalid(`${where}.transform.window.hop`, 'must not be longer than the size');
    if (Math.ceil(sizeMs / hopMs) > MAX_WINDOWS_PER_EVENT) {
      throw invalid(`${where}.transform.window`, `size / hop must be at most ${MAX_WINDOWS_PER_EVENT}`);
    }
    window = { type: 'hopping', sizeMs, hopMs };
  } else if (w.type === 'session') {
    window = { type: 'session', gapMs: positive(w.gap, `${where}.transform.window.gap`) };
  } else {
    throw invalid(`${where}.transform.window.type`, 'must be tumbling, hopping or session');
  }
  const allowedLatenessMs =
    t.allowedLateness === undefined ? 0 : durationOf(t.allowedLateness, `${where}.transform.allowedLateness`);
  const ttlMs = positive(view.ttl, `${where}.ttl`);
  const types = new Map(view.schema.map((f) => [f.name, f.type]));
  const seen = new Set<string>();
  const aggregations = t.aggregations.map((a, i): CompiledAggregation => {
    const at = `${where}.transform.aggregations[${i}]`;
    if (seen.has(a.name)) throw invalid(`${at}.name`, `${JSON.stringify(a.name)} is produced twice`);
    seen.add(a.name);
    const type = types.get(a.name);
    if (type === undefined)
      throw invalid(`${at}.name`, `${JSON.stringify(a.name)} is not in the view's schema`);
    const allowed = RESULT_TYPES[a.fn];
    if (allowed === undefined) throw invalid(`${at}.fn`, `unknown aggregation ${JSON.stringify(a.fn)}`);
    if (allowed !== 'any' && !allowed.includes(type)) {
      throw invalid(`${at}.fn`, `${a.fn} gives ${allowed.join(' or ')}, but ${a.name} is declared ${type}`);
    }
    if (a.fn !== 'count' && (typeof a.field !== 'string' || a.field === '')) {
      throw invalid(`${at}.field`, `${a.fn} needs the event field it aggregates`);
    }
    const k = a.fn === 'top_k' ? (a.k ?? DEFAULT_TOP_K) : 0;
    if (a.fn === 'top_k' && (!Number.isInteger(k) || k < 1 || k > TOP_K_MAX)) {
      throw invalid(`${at}.k`, `must be an integer in [1, ${TOP_K_MAX}]`);
    }
    return {
      name: a.name,
      fn: a.fn,
      field: a.field,
      k,
      valueType: TYPED_BY_FEATURE.has(a.fn) ? type : a.fn === 'mean' ? 'float64' : undefined,
    };
  });
  if (aggregations.length === 0) throw invalid(`${where}.transform.aggregations`, 'must not be empty');
  const unproduced = view.schema.filter((f) => !seen.has(f.name)).map((f) => f.name);
  if (unproduced.length > 0) {
    throw invalid(`${where}.schema`, `no aggregation produces ${unproduced.join(', ')}`);
  }
  const lengthMs = window.type === 'session' ? window.gapMs : window.sizeMs;
  return {
    name: view.name,
    window,
    allowedLatenessMs,
    ttlMs,
    retentionMs: Math.max(ttlMs, lengthMs),
    aggregations,
  };
}

function durationOf(value: Duration, where: string): number {
  const r = parseDuration(value);
  if (!r.ok) throw invalid(where, r.reason);
  if (r.ms < 0) throw invalid(where, 'must not be negative');
  return r.ms;
}

function positive(value: Duration, where: string): number {
  const ms = durationOf(value, where);
  if (ms <= 0) throw invalid(where, 'must be longer than 0');
  return ms;
}
