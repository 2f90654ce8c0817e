import { parseDuration } from '../core/duration.js';
import type { SqlExecutor } from '../ports/sql.js';
import type { FeatureRepoDef } from './feature-definitions.js';

/** The last materialization run of a view: when, how, and how many source rows it read and wrote. */
export interface MaterializationSummary {
  readonly mode: string;
  readonly status: string;
  readonly startedAt: string;
  /** When it finished; null while running (or after a crash, until it is run again). */
  readonly finishedAt: string | null;
  /** Source rows read by the run's chunks. */
  readonly rows: number;
  /** Offline values the run inserted or changed. */
  readonly written: number;
  /** Rows refused (bad event time, wrong type). */
  readonly bad: number;
}

/** One feature view's freshness: the newest event time its values reflect, against its TTL. */
export interface FeatureViewStatus {
  readonly name: string;
  readonly entities: readonly string[];
  readonly source: { readonly name: string; readonly kind: string };
  readonly transform: string;
  readonly online: boolean;
  readonly ttlSeconds: number | null;
  readonly features: number;
  /**
   * The newest event time materialized (watermark, or the newest of any run's chunks) or processed
   * by a pipeline writing the view (ms since the epoch); null when nothing was.
   */
  readonly lastEventMs: number | null;
  /** Now − lastEventMs, in seconds; null when nothing was materialized. */
  readonly freshnessSeconds: number | null;
  /** The newest values are older than the TTL: online reads of them answer EXPIRED. */
  readonly stale: boolean;
  readonly lastMaterialization: MaterializationSummary | null;
  /** Pipelines of the repository writing the view. */
  readonly pipelines: readonly string[];
}

/** What the view statuses are computed from: the repository's tables and the pipelines' state. */
export interface FeatureStatusSources {
  readonly sql: SqlExecutor;
  /** The newest event time a pipeline accepted, over its partitions; null when it never ran. */
  readonly pipelineNewestEventMs: (pipeline: string) => Promise<number | null>;
}

/** The newest run of each view (by update time), with its chunks' totals. */
async function lastRuns(sql: SqlExecutor): Promise<Map<string, MaterializationSummary>> {
  const runs = await sql.query<{
    run_key: string;
    view: string;
    mode: string;
    status: string;
    started_at: string;
    updated_at: string;
    finished_at: string | null;
  }>(
    `SELECT r.run_key, r.view, r.mode, r.status, r.started_at, r.updated_at, r.finished_at
     FROM ferry_feature_runs r
     WHERE r.updated_at = (SELECT MAX(r2.updated_at) FROM ferry_feature_runs r2 WHERE r2.view = r.view)`,
  );
  const out = new Map<string, MaterializationSummary>();
  for (const run of runs) {
    if (out.has(run.view)) continue; // two runs updated in the same millisecond: either will do
    const [totals] = await sql.query<{ rows: number | null; written: number | null; bad: number | null }>(
      'SELECT SUM(rows) AS rows, SUM(written) AS written, SUM(bad) AS bad FROM ferry_feature_run_chunks WHERE run_key = $1',
      [run.run_key],
    );
    out.set(run.view, {
      mode: run.mode,
      status: run.status,
      startedAt: run.started_at,
      finishedAt: run.finished_at,
      rows: Number(totals?.rows ?? 0),
      written: Number(totals?.written ?? 0),
      bad: Number(totals?.bad ?? 0),
    });
  }
  return out;
}

/** Per view, the newest event time materialized: its watermark or the newest chunk of any run. */
async function materializedUpTo(sql: SqlExecutor): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const raise = (view: string, ms: unknown) => {
    if (ms === null || ms === undefined) return;
    const n = Number(ms);
    if (Number.isFinite(n) && n > (out.get(view) ?? Number.NEGATIVE_INFINITY)) out.set(view, n);
  };
  for (const r of await sql.query<{ view: string; high_water_ms: number }>(
    'SELECT view, high_water_ms FROM ferry_feature_watermarks',
  ))
    raise(r.view, r.high_water_ms);
  for (const r of await sql.query<{ view: string; max_event_ms: number | null }>(
    'SELECT view, MAX(max_event_ms) AS max_event_ms FROM ferry_feature_run_chunks GROUP BY view',
  ))
    raise(r.view, r.max_event_ms);
  return out;
}

/**
 * The freshness of every view of the applied repository (`GET /v1/features/status`): the newest
 * event time its values reflect, from materialization (watermark and runs) and from the pipelines
 * writing it, compared with its TTL. Reads the repository's own tables, never the online store.
 */
export async function featureViewsStatus(
  repo: FeatureRepoDef,
  sources: FeatureStatusSources,
  nowMs: number,
): Promise<FeatureViewStatus[]> {
  const [runs, materialized] = await Promise.all([lastRuns(sources.sql), materializedUpTo(sources.sql)]);
  const pipelines = repo.pipelines ?? [];
  const pipelineNewest = new Map<string, number | null>();
  for (const p of pipelines) {
    pipelineNewest.set(p.name, await sources.pipelineNewestEventMs(p.name));
  }
  return repo.views.map((v) => {
    const source = repo.sources.find((s) => s.name === v.source);
    const writers = pipelines.filter((p) => p.views.includes(v.name)).map((p) => p.name);
    let last = materialized.get(v.name) ?? null;
    for (const p of writers) {
      const ms = pipelineNewest.get(p) ?? null;
      if (ms !== null && (last === null || ms > last)) last = ms;
    }
    const ttl = parseDuration(v.ttl);
    const ttlSeconds = ttl.ok ? ttl.ms / 1000 : null;
    const freshnessSeconds = last === null ? null : Math.max(0, (nowMs - last) / 1000);
    return {
      name: v.name,
      entities: v.entities,
      source: { name: v.source, kind: source?.kind ?? 'unknown' },
      transform: v.transform.kind,
      online: v.online !== false,
      ttlSeconds,
      features: v.schema.length,
      lastEventMs: last,
      freshnessSeconds,
      stale: freshnessSeconds !== null && ttlSeconds !== null && freshnessSeconds > ttlSeconds,
      lastMaterialization: runs.get(v.name) ?? null,
      pipelines: writers,
    };
  });
}
