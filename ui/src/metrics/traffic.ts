/**
 * The live traffic page's maths over successive scrapes of `GET /metrics`: pure, no DOM.
 *
 * - Rates are counter increases between two scrapes divided by the seconds between them. A counter
 *   that went down was reset (the server restarted, or with --workers N a worker did): its
 *   increase is then its new value, counted from zero, as Prometheus' rate() does. A series absent
 *   from the previous scrape appeared in between: its whole value is the increase. When
 *   `process_start_time_seconds` changed, every series counts from zero.
 * - Quantiles come from the histogram buckets' increases over the interval (summed over the series
 *   selected), interpolated linearly inside the bucket the rank falls in, as PromQL's
 *   histogram_quantile() does; a rank in the +Inf bucket answers the highest finite bound.
 */
import { type Labels, labelKey, type Sample } from './parse.js';

/** One scrape: when it was received (epoch ms) and its samples of the families used here. */
export interface Snapshot {
  readonly t: number;
  readonly series: ReadonlyMap<string, readonly Sample[]>;
}

/** The families the page reads; the rest of a scrape (process_*, nodejs_*) is not kept. */
export const TRAFFIC_FAMILIES: readonly string[] = [
  'ferry_http_requests_total',
  'ferry_http_request_duration_seconds_bucket',
  'ferry_http_request_duration_seconds_count',
  'ferry_predictions_total',
  'ferry_predict_duration_seconds_bucket',
  'ferry_predict_duration_seconds_count',
  'ferry_batch_size_bucket',
  'ferry_batch_size_sum',
  'ferry_batch_size_count',
  'ferry_batch_queue_seconds_bucket',
  'ferry_batch_queue_seconds_count',
  'ferry_cache_lookups_total',
  'ferry_requests_shed_total',
  'ferry_model_loaded',
  'process_start_time_seconds',
];

export function snapshotOf(
  samples: readonly Sample[],
  t: number,
  families: readonly string[] = TRAFFIC_FAMILIES,
): Snapshot {
  const wanted = new Set(families);
  const series = new Map<string, Sample[]>();
  for (const s of samples) {
    if (!wanted.has(s.name)) continue;
    let list = series.get(s.name);
    if (list === undefined) {
      list = [];
      series.set(s.name, list);
    }
    list.push(s);
  }
  return { t, series };
}

/** The increase of a counter from `prev` (undefined: the series is new) to `cur`. */
export function counterIncrease(prev: number | undefined, cur: number): number {
  if (prev === undefined || cur < prev) return cur;
  return cur - prev;
}

/** Whether the server restarted between two scrapes (its start time changed). */
export function restartedBetween(prev: Snapshot, cur: Snapshot): boolean {
  const a = prev.series.get('process_start_time_seconds')?.[0]?.value;
  const b = cur.series.get('process_start_time_seconds')?.[0]?.value;
  return a !== undefined && b !== undefined && a !== b;
}

export type LabelFilter = (labels: Labels) => boolean;
const ALL: LabelFilter = () => true;

/** Every series of a counter family with its increase between the two scrapes. */
export function increases(
  prev: Snapshot,
  cur: Snapshot,
  name: string,
  match: LabelFilter = ALL,
): Array<{ labels: Labels; increase: number }> {
  const restarted = restartedBetween(prev, cur);
  const before = new Map<string, number>();
  for (const s of prev.series.get(name) ?? []) before.set(labelKey(s.labels), s.value);
  const out: Array<{ labels: Labels; increase: number }> = [];
  for (const s of cur.series.get(name) ?? []) {
    if (!match(s.labels)) continue;
    const p = restarted ? undefined : before.get(labelKey(s.labels));
    out.push({ labels: s.labels, increase: counterIncrease(p, s.value) });
  }
  return out;
}

/** The summed increase of a counter family's matching series. */
export function totalIncrease(prev: Snapshot, cur: Snapshot, name: string, match: LabelFilter = ALL): number {
  return increases(prev, cur, name, match).reduce((a, x) => a + x.increase, 0);
}

/** A cumulative bucket: `count` observations at most `le`. */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/**
 * The increases of a histogram's buckets between two scrapes, summed over the matching series
 * (label sets without `le`). A series whose count or any bucket went down was reset: its current
 * buckets are its increase.
 */
export function bucketIncreases(
  prev: Snapshot,
  cur: Snapshot,
  family: string,
  match: LabelFilter = ALL,
): Bucket[] {
  const restarted = restartedBetween(prev, cur);
  const group = (snap: Snapshot) => {
    const groups = new Map<string, Map<number, number>>();
    for (const s of snap.series.get(`${family}_bucket`) ?? []) {
      const leText = s.labels.le;
      if (leText === undefined || !match(s.labels)) continue;
      const le = leText === '+Inf' ? Number.POSITIVE_INFINITY : Number(leText);
      if (Number.isNaN(le)) continue;
      const key = labelKey(s.labels, 'le');
      let g = groups.get(key);
      if (g === undefined) {
        g = new Map();
        groups.set(key, g);
      }
      g.set(le, s.value);
    }
    return groups;
  };
  const now = group(cur);
  const before = restarted ? new Map<string, Map<number, number>>() : group(prev);
  const sum = new Map<number, number>();
  for (const [key, buckets] of now) {
    const old = before.get(key);
    const reset = old === undefined || [...buckets].some(([le, c]) => c < (old.get(le) ?? 0));
    for (const [le, c] of buckets) {
      sum.set(le, (sum.get(le) ?? 0) + (reset ? c : c - (old.get(le) ?? 0)));
    }
  }
  return [...sum].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/**
 * PromQL's histogram_quantile(q, buckets): NaN when there are no observations (or no +Inf bucket,
 * or fewer than two buckets), the highest finite bound when the rank falls in the +Inf bucket, the
 * bucket's upper bound when the first bucket's is at most 0, else linear interpolation inside the
 * bucket. The first bucket's lower bound is 0, as in PromQL, or `lowerBound` when the values have a
 * known floor (a batch has at least 1 item: a first bucket `le="1"` then holds exactly 1).
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[], lowerBound = 0): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length < 2 || sorted.at(-1)!.le !== Number.POSITIVE_INFINITY) return Number.NaN;
  // Cumulative counts must not go down (bucket increases read at slightly different moments could).
  let max = 0;
  const counts = sorted.map((b) => {
    max = Math.max(max, b.count);
    return max;
  });
  const observations = counts.at(-1)!;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  let b = counts.findIndex((c, i) => i < counts.length - 1 && c >= rank);
  if (b === -1) b = counts.length - 1;
  if (b === counts.length - 1) return sorted[counts.length - 2]!.le;
  if (b === 0 && sorted[0]!.le <= 0) return sorted[0]!.le;
  let start = Math.min(lowerBound, sorted[0]!.le);
  const end = sorted[b]!.le;
  let count = counts[b]!;
  if (b > 0) {
    start = sorted[b - 1]!.le;
    count -= counts[b - 1]!;
    rank -= counts[b - 1]!;
  }
  return start + (end - start) * (rank / count);
}

export interface Quantiles {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
  /** Observations in the interval. */
  readonly count: number;
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

export function quantilesOf(buckets: readonly Bucket[], lowerBound = 0): Quantiles {
  const count = buckets.find((b) => b.le === Number.POSITIVE_INFINITY)?.count ?? 0;
  return {
    p50: finiteOrNull(histogramQuantile(0.5, buckets, lowerBound)),
    p95: finiteOrNull(histogramQuantile(0.95, buckets, lowerBound)),
    p99: finiteOrNull(histogramQuantile(0.99, buckets, lowerBound)),
    count,
  };
}

/** Which model and version a page looks at; undefined: all of them. */
export interface Selection {
  readonly model?: string | undefined;
  readonly version?: string | undefined;
}

export function selects(sel: Selection): LabelFilter {
  return (l) =>
    (sel.model === undefined || l.model === sel.model) &&
    (sel.version === undefined || l.version === sel.version);
}

export interface RouteRate {
  readonly method: string;
  readonly route: string;
  /** Requests per second in the interval, by status code. */
  readonly byStatus: Readonly<Record<string, number>>;
  readonly perSec: number;
  readonly latency: Quantiles;
}

/** What one interval between two scrapes shows. Rates are per second; null: nothing to measure. */
export interface TrafficPoint {
  /** The later scrape's time (epoch ms). */
  readonly t: number;
  readonly seconds: number;
  /** HTTP requests of every route. */
  readonly requestsPerSec: number;
  /** Of those, answered 5xx. */
  readonly errorsPerSec: number;
  readonly routes: readonly RouteRate[];
  /** Predicted items of the selection, from the model or the cache. */
  readonly predictionsPerSec: number;
  readonly cachedPerSec: number;
  /** Time from accepting a prediction to its answer (ferry_predict_duration_seconds). */
  readonly latency: Quantiles;
  readonly batchSize: Quantiles & { readonly mean: number | null };
  /** Time the oldest item of a batch waited (ferry_batch_queue_seconds). */
  readonly queue: Quantiles;
  /** Cache hits over lookups in the interval (all models: the lookups carry no model). */
  readonly cacheHitRate: number | null;
  readonly cacheLookupsPerSec: number;
  /** Requests refused with 503 (queue full, deadline), of the selected model (shedding has no version). */
  readonly shedPerSec: number;
  readonly shedByReason: Readonly<Record<string, number>>;
}

/**
 * The figures of the interval from `prev` to `cur`; undefined when no time passed between them.
 * `routes: false` leaves the per-route latencies out (the charts do not show them).
 */
export function trafficPoint(
  prev: Snapshot,
  cur: Snapshot,
  sel: Selection = {},
  opts: { readonly routes?: boolean } = {},
): TrafficPoint | undefined {
  const seconds = (cur.t - prev.t) / 1000;
  if (!(seconds > 0)) return undefined;
  const per = (n: number) => n / seconds;
  const match = selects(sel);

  const routes = new Map<string, { method: string; route: string; byStatus: Record<string, number> }>();
  let requests = 0;
  let errors = 0;
  for (const { labels, increase } of increases(prev, cur, 'ferry_http_requests_total')) {
    const method = labels.method ?? '';
    const route = labels.route ?? '';
    const key = `${method} ${route}`;
    let r = routes.get(key);
    if (r === undefined) {
      r = { method, route, byStatus: {} };
      routes.set(key, r);
    }
    const status = labels.status ?? '';
    r.byStatus[status] = (r.byStatus[status] ?? 0) + per(increase);
    requests += increase;
    if (status.startsWith('5')) errors += increase;
  }
  const withRoutes = opts.routes ?? true;
  const noLatency: Quantiles = { p50: null, p95: null, p99: null, count: 0 };
  const routeRates: RouteRate[] = [...routes.values()]
    .map((r) => ({
      ...r,
      perSec: Object.values(r.byStatus).reduce((a, b) => a + b, 0),
      latency: withRoutes
        ? quantilesOf(
            bucketIncreases(
              prev,
              cur,
              'ferry_http_request_duration_seconds',
              (l) => l.method === r.method && l.route === r.route,
            ),
          )
        : noLatency,
    }))
    .filter((r) => r.perSec > 0)
    .sort((a, b) => b.perSec - a.perSec || (a.route < b.route ? -1 : 1));

  let predictions = 0;
  let cached = 0;
  for (const { labels, increase } of increases(prev, cur, 'ferry_predictions_total', match)) {
    predictions += increase;
    if (labels.source === 'cache') cached += increase;
  }

  const batchBuckets = bucketIncreases(prev, cur, 'ferry_batch_size', match);
  const batchCount = totalIncrease(prev, cur, 'ferry_batch_size_count', match);
  const batchSum = totalIncrease(prev, cur, 'ferry_batch_size_sum', match);

  const lookups = increases(prev, cur, 'ferry_cache_lookups_total');
  const lookupTotal = lookups.reduce((a, x) => a + x.increase, 0);
  const hits = lookups.filter((x) => x.labels.result === 'hit').reduce((a, x) => a + x.increase, 0);

  const shedByReason: Record<string, number> = {};
  let shed = 0;
  for (const { labels, increase } of increases(
    prev,
    cur,
    'ferry_requests_shed_total',
    (l) => sel.model === undefined || l.model === sel.model,
  )) {
    shed += increase;
    const reason = labels.reason ?? '';
    shedByReason[reason] = (shedByReason[reason] ?? 0) + per(increase);
  }

  return {
    t: cur.t,
    seconds,
    requestsPerSec: per(requests),
    errorsPerSec: per(errors),
    routes: routeRates,
    predictionsPerSec: per(predictions),
    cachedPerSec: per(cached),
    latency: quantilesOf(bucketIncreases(prev, cur, 'ferry_predict_duration_seconds', match)),
    batchSize: { ...quantilesOf(batchBuckets, 1), mean: batchCount > 0 ? batchSum / batchCount : null },
    queue: quantilesOf(bucketIncreases(prev, cur, 'ferry_batch_queue_seconds', match)),
    cacheHitRate: lookupTotal > 0 ? hits / lookupTotal : null,
    cacheLookupsPerSec: per(lookupTotal),
    shedPerSec: per(shed),
    shedByReason,
  };
}

/**
 * The points of every interval of a run of scrapes (oldest first), without per-route latencies.
 * With `cache`, a point already computed for the same two scrapes and selection is reused (a page
 * polling every 2 s then computes one new point a poll), and points of scrapes gone are dropped.
 */
export function trafficSeries(
  snapshots: readonly Snapshot[],
  sel: Selection = {},
  cache?: Map<string, TrafficPoint | undefined>,
): TrafficPoint[] {
  const out: TrafficPoint[] = [];
  const used = new Set<string>();
  const selKey = JSON.stringify([sel.model ?? null, sel.version ?? null]);
  for (let i = 1; i < snapshots.length; i++) {
    const prev = snapshots[i - 1]!;
    const cur = snapshots[i]!;
    const key = `${selKey}|${prev.t}|${cur.t}`;
    let p: TrafficPoint | undefined;
    if (cache?.has(key)) p = cache.get(key);
    else {
      p = trafficPoint(prev, cur, sel, { routes: false });
      cache?.set(key, p);
    }
    used.add(key);
    if (p !== undefined) out.push(p);
  }
  if (cache !== undefined) for (const key of cache.keys()) if (!used.has(key)) cache.delete(key);
  return out;
}

/** The model versions a scrape knows of (loaded, or with predictions counted), sorted. */
export function modelVersions(snap: Snapshot): Array<{ model: string; version: string }> {
  const seen = new Map<string, { model: string; version: string }>();
  for (const name of ['ferry_model_loaded', 'ferry_predictions_total']) {
    for (const s of snap.series.get(name) ?? []) {
      const { model, version } = s.labels;
      if (model === undefined || version === undefined) continue;
      seen.set(`${model}\u0000${version}`, { model, version });
    }
  }
  return [...seen.values()].sort((a, b) =>
    a.model < b.model ? -1 : a.model > b.model ? 1 : Number(a.version) - Number(b.version),
  );
}

/**
 * The scrapes of the last `maxAgeMs`, oldest first: a new one is appended and the ones older than
 * the window (relative to the newest) fall off; never more than `maxLength`.
 */
export class SnapshotRing {
  private items: Snapshot[] = [];
  constructor(
    readonly maxAgeMs: number,
    readonly maxLength = 1000,
  ) {}

  push(s: Snapshot): void {
    const last = this.items.at(-1);
    // A clock that went back (or the same moment twice) would make a zero or negative interval.
    if (last !== undefined && s.t <= last.t) this.items = [];
    this.items.push(s);
    const oldest = s.t - this.maxAgeMs;
    let drop = 0;
    while (drop < this.items.length - 1 && this.items[drop]!.t < oldest) drop++;
    drop = Math.max(drop, this.items.length - this.maxLength);
    if (drop > 0) this.items = this.items.slice(drop);
  }

  get snapshots(): readonly Snapshot[] {
    return this.items;
  }
}
