import { durationMs } from '../core/duration.js';
import { ErrorCode, FerryError } from '../core/errors.js';
import { entityKeyOf, type FeatureValue } from '../ports/online-feature-store.js';
import type { SqlExecutor } from '../ports/sql.js';
import type { FeatureRepoDef, FeatureViewDef } from './feature-definitions.js';
import { byView, type FeatureRef } from './feature-refs.js';
import { type OfflineValues, readOfflineView } from './offline-store.js';
import { joinKeysOf } from './row-transform.js';

/**
 * Point-in-time correct training sets. For each entity row (its join keys and a timestamp) and
 * each feature, the value of the newest offline row of the feature's view for that entity whose
 * event time is at or before the row's timestamp and no older than the view's TTL:
 *
 *     timestamp − ttl <= event time <= timestamp     (both ends included)
 *
 * else null. A value from after the row's timestamp is never used, however close: that would leak
 * the future into training. Per view, the offline values are loaded once, grouped by entity and
 * sorted by time (readOfflineView); each row is then a hash lookup and a binary search.
 */
export interface EntityColumns {
  /** Per join key, its value in each row (undefined or '' where the row has none). */
  readonly keys: Readonly<Record<string, ReadonlyArray<string | undefined>>>;
  /** Each row's timestamp, ms since the epoch. */
  readonly timestamps: ArrayLike<number>;
}

export interface FeatureColumn {
  readonly ref: FeatureRef;
  readonly values: FeatureValue[];
}

/** The join keys the features need, in the order their views declare them. */
export function requiredJoinKeys(repo: FeatureRepoDef, refs: readonly FeatureRef[]): string[] {
  const keys: string[] = [];
  for (const { view } of byView(repo, refs)) {
    for (const k of joinKeysOf(repo, view)) if (!keys.includes(k)) keys.push(k);
  }
  return keys;
}

/** A view's offline values made searchable by entity key. */
export interface ViewIndex {
  readonly view: FeatureViewDef;
  readonly ttlMs: number;
  readonly groups: ReadonlyMap<string, number>;
  readonly data: OfflineValues;
}

function indexView(view: FeatureViewDef, data: OfflineValues): ViewIndex {
  const groups = new Map<string, number>();
  for (let g = 0; g < data.keys.length; g++) groups.set(data.keys[g]!, g);
  return { view, ttlMs: durationMs(view.ttl), groups, data };
}

export async function loadViewIndex(
  sql: SqlExecutor,
  view: FeatureViewDef,
  maxTimestampMs: number,
): Promise<ViewIndex> {
  return indexView(view, await readOfflineView(sql, view.name, { maxEventTimeMs: maxTimestampMs }));
}

/**
 * The offline row a timestamp sees in one entity's rows `[from, to)` (times ascending), or -1:
 * the last with time <= ts, if it is not older than ts − ttl.
 */
export function pointInTime(
  times: Float64Array,
  from: number,
  to: number,
  ts: number,
  ttlMs: number,
): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! <= ts) lo = mid + 1;
    else hi = mid;
  }
  const at = lo - 1;
  return at >= from && times[at]! >= ts - ttlMs ? at : -1;
}

/** Fills the columns of one view's features for every row. */
export function joinView(
  index: ViewIndex,
  joinKeys: readonly string[],
  rows: EntityColumns,
  refs: readonly FeatureRef[],
): FeatureColumn[] {
  const n = rows.timestamps.length;
  const columns = refs.map((ref) => ({ ref, values: new Array<FeatureValue>(n).fill(null) }));
  // Plain arrays in the loop: a million rows × features is all property reads and index writes.
  const names = refs.map((r) => r.feature);
  const outs = columns.map((c) => c.values);
  const width = names.length;
  const keyColumns = joinKeys.map((k) => rows.keys[k]!);
  const single = keyColumns.length === 1 ? keyColumns[0]! : undefined;
  const { start, times, values } = index.data;
  const parts: string[] = new Array(keyColumns.length);
  for (let i = 0; i < n; i++) {
    let key: string | undefined;
    if (single !== undefined) key = single[i];
    else {
      let missing = false;
      for (let k = 0; k < keyColumns.length; k++) {
        const part = keyColumns[k]![i];
        if (part === undefined || part === '') missing = true;
        parts[k] = part ?? '';
      }
      key = missing ? undefined : entityKeyOf(parts);
    }
    if (key === undefined || key === '') continue;
    const g = index.groups.get(key);
    if (g === undefined) continue;
    const at = pointInTime(times, start[g]!, start[g + 1]!, rows.timestamps[i]!, index.ttlMs);
    if (at < 0) continue;
    const row = values[at]!;
    for (let f = 0; f < width; f++) {
      const v = row[names[f]!];
      if (v !== undefined) outs[f]![i] = v;
    }
  }
  return columns;
}

/** Every requested feature's column for the rows, in the order of `refs`. */
export async function pointInTimeJoin(
  sql: SqlExecutor,
  repo: FeatureRepoDef,
  refs: readonly FeatureRef[],
  rows: EntityColumns,
): Promise<FeatureColumn[]> {
  const missing = requiredJoinKeys(repo, refs).filter((k) => rows.keys[k] === undefined);
  if (missing.length > 0) {
    throw new FerryError(
      ErrorCode.FEATURES_INVALID_REQUEST,
      `the entity rows have no ${missing.map((m) => `"${m}"`).join(', ')} column${missing.length > 1 ? 's' : ''}, which the features need as join key${missing.length > 1 ? 's' : ''}`,
      { details: { missing } },
    );
  }
  let maxTs = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < rows.timestamps.length; i++)
    if (rows.timestamps[i]! > maxTs) maxTs = rows.timestamps[i]!;
  const out = new Map<string, FeatureColumn>();
  for (const { view, refs: viewRefs } of byView(repo, refs)) {
    if (rows.timestamps.length === 0) {
      for (const ref of viewRefs) out.set(`${ref.view}:${ref.feature}`, { ref, values: [] });
      continue;
    }
    const index = await loadViewIndex(sql, view, maxTs);
    for (const c of joinView(index, joinKeysOf(repo, view), rows, viewRefs))
      out.set(`${c.ref.view}:${c.ref.feature}`, c);
  }
  return refs.map((r) => out.get(`${r.view}:${r.feature}`)!);
}

/**
 * Output column names: the feature's name, or `view__feature` when two requested features share
 * a name or the name is already an input column.
 */
export function featureColumnNames(refs: readonly FeatureRef[], inputColumns: readonly string[]): string[] {
  const count = new Map<string, number>();
  for (const r of refs) count.set(r.feature, (count.get(r.feature) ?? 0) + 1);
  return refs.map((r) =>
    count.get(r.feature)! > 1 || inputColumns.includes(r.feature) ? `${r.view}__${r.feature}` : r.feature,
  );
}
