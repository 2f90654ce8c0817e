import { createHash } from 'node:crypto';
import { ErrorCode, FerryError } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';
import { type Progress, silentProgress } from '../core/progress.js';
import type { OnlineFeatureRow, OnlineFeatureStore } from '../ports/online-feature-store.js';
import type { SqlClient } from '../ports/sql.js';
import type { FeatureViewDef } from './feature-definitions.js';
import type { AppliedRepo } from './feature-repo-store.js';
import type { LoadedDefinitions } from './load-definitions.js';
import {
  type BadRow,
  type ChunkRecord,
  doneChunks,
  dropChunksFrom,
  finishRun,
  type RunMode,
  raiseWatermark,
  readWatermark,
  recordChunk,
  startRun,
} from './materialize-state.js';
import { writeOfflineRows } from './offline-store.js';
import { objectOf } from './repo-objects.js';
import { batchSourceOf, type CompiledRowView, compileRowView } from './row-transform.js';
import type { OpenSource, SourceRecord } from './source-rows.js';

/**
 * `ferry features materialize`: each row view's batch source read, transformed, checked and
 * written to the offline store and (online views) the online store.
 *
 * - Chunked and resumable: source records are cut into chunks of `chunkSize` in the source's
 *   order; a chunk's offline values and its progress row (with the hash of its records) commit in
 *   one transaction, after its online rows are written (idempotent: newer event time wins). A
 *   rerun of the same run (same view definition, source, range, watermark, chunk size) skips the
 *   chunks whose records hash the same, so a run killed at any point ends, once rerun, exactly
 *   where an uninterrupted one would, without duplicates (the offline key is view, entity, time).
 * - Idempotent: a finished run rerun skips every chunk; a changed source rewrites the chunks that
 *   changed, and upserts that find the same values change nothing.
 * - Incremental: full and incremental runs raise the view's watermark to the newest event time
 *   they wrote; `--incremental` takes only rows newer than it. A `--start/--end` range leaves the
 *   watermark alone (a backfill is not progress).
 * - Bad rows (no entity key, no event time, a value that does not fit its type) are counted and
 *   reported with their line, never fatal.
 *
 * Window views are computed by stream pipelines (features/windows/, another branch); materialize
 * refuses them by name and skips them otherwise. TODO: materialize window views from their batch
 * source through the window engine once it is merged.
 */
export const DEFAULT_CHUNK_SIZE = 10_000;
const MAX_BAD_EXAMPLES = 20;
const BAD_EXAMPLES_PER_CHUNK = 5;

export interface MaterializeRequest {
  /** Views to materialize (default: every row view with a batch source). */
  readonly views?: readonly string[];
  /** Only rows with start <= event time < end. */
  readonly range?: { readonly startMs: number; readonly endMs: number };
  /** Only rows newer than each view's watermark. */
  readonly incremental?: boolean;
  readonly chunkSize?: number;
}

export interface MaterializeDeps {
  /** The Ferry database: the repository's tables and the offline store. */
  readonly sql: SqlClient;
  /** Opened on first use (only online views need it). */
  readonly online: () => Promise<OnlineFeatureStore>;
  /** The definition file, loaded: transforms run from it (a TypeScript map is code). */
  readonly loaded: LoadedDefinitions;
  /** What is applied: each view must be applied as the file defines it. */
  readonly applied: AppliedRepo;
  readonly openSource: OpenSource;
  readonly progress?: Progress;
  readonly clock?: () => number;
}

export interface ViewMaterializeSummary {
  readonly view: string;
  readonly runKey: string;
  readonly mode: RunMode;
  readonly source: string;
  /** Source records read. */
  readonly rows: number;
  /** Records in the run's time range. */
  readonly selected: number;
  /** Offline values inserted or changed (0 when nothing changed). */
  readonly offlineWritten: number;
  /** Online rows applied by this process (skipped chunks are not rewritten). */
  readonly onlineWritten: number;
  readonly bad: number;
  readonly badExamples: readonly BadRow[];
  readonly chunks: number;
  readonly skippedChunks: number;
  /** The view's watermark after the run. */
  readonly watermarkMs: number | null;
  readonly seconds: number;
}

export interface MaterializeSummary {
  readonly views: readonly ViewMaterializeSummary[];
  /** Views left out, and why (window views, stream sources without a batch source). */
  readonly skipped: ReadonlyArray<{ readonly view: string; readonly reason: string }>;
}

function notMaterializable(view: FeatureViewDef, loaded: LoadedDefinitions): string | undefined {
  if (view.transform.kind === 'window') {
    return 'a window view: its values come from stream pipelines (materializing windows from a batch source is not supported yet)';
  }
  if (batchSourceOf(loaded.repo, view) === undefined) {
    return `its source "${view.source}" is a stream without a batchSource`;
  }
  return undefined;
}

/** The views to run, checked: known, applied as defined, materializable when named. */
function selectViews(
  deps: MaterializeDeps,
  req: MaterializeRequest,
): {
  run: FeatureViewDef[];
  skipped: Array<{ view: string; reason: string }>;
} {
  const { loaded, applied } = deps;
  const all = loaded.repo.views;
  const named = req.views !== undefined;
  const names = req.views ?? all.map((v) => v.name);
  const unknown = names.filter((n) => !all.some((v) => v.name === n));
  if (unknown.length > 0) {
    throw new FerryError(
      ErrorCode.FEATURES_NOT_FOUND,
      `unknown feature view${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')} in ${loaded.file}; known: ${all.map((v) => v.name).join(', ') || 'none'}`,
      { details: { unknown, known: all.map((v) => v.name) } },
    );
  }
  const run: FeatureViewDef[] = [];
  const skipped: Array<{ view: string; reason: string }> = [];
  const stale: string[] = [];
  for (const name of names) {
    const view = all.find((v) => v.name === name)!;
    const reason = notMaterializable(view, loaded);
    if (reason !== undefined) {
      if (named) {
        throw new FerryError(ErrorCode.FEATURES_INVALID, `cannot materialize the view "${name}": ${reason}`, {
          details: { view: name, problems: [{ path: '', message: reason }] },
        });
      }
      skipped.push({ view: name, reason });
      continue;
    }
    // The view, its source and (a stream's) batch source, each as applied.
    const sources = [...new Set([view.source, batchSourceOf(loaded.repo, view)!.name])];
    const defs = sources.map((s) => loaded.repo.sources.find((d) => d.name === s)!);
    if (
      applied.hashes.get(`view:${name}`) !== objectOf('view', view).hash ||
      defs.some((d) => applied.hashes.get(`source:${d.name}`) !== objectOf('source', d).hash)
    ) {
      stale.push(name);
    }
    run.push(view);
  }
  if (stale.length > 0) {
    throw new FerryError(
      ErrorCode.FEATURES_INVALID,
      `the view${stale.length > 1 ? 's' : ''} ${stale.map((n) => `"${n}"`).join(', ')} (or ${stale.length > 1 ? 'their' : 'its'} source) in ${loaded.file} differ from what is applied: run \`ferry features apply\` first`,
      {
        details: {
          views: stale,
          problems: stale.map((v) => ({ path: v, message: 'not applied as defined' })),
        },
      },
    );
  }
  return { run, skipped };
}

export async function materialize(
  deps: MaterializeDeps,
  req: MaterializeRequest = {},
): Promise<MaterializeSummary> {
  if (req.range !== undefined && req.incremental) {
    throw new FerryError(ErrorCode.FEATURES_INVALID_REQUEST, 'give a time range or --incremental, not both');
  }
  if (req.range !== undefined && !(req.range.startMs < req.range.endMs)) {
    throw new FerryError(ErrorCode.FEATURES_INVALID_REQUEST, 'the start of the range must be before its end');
  }
  const chunkSize = req.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new FerryError(
      ErrorCode.FEATURES_INVALID_REQUEST,
      `the chunk size must be a positive integer, got ${chunkSize}`,
    );
  }
  const { run, skipped } = selectViews(deps, req);
  const views: ViewMaterializeSummary[] = [];
  for (const view of run) views.push(await materializeView(deps, view, req, chunkSize));
  return { views, skipped };
}

/** sha256 of a chunk's records (line and fields), the identity a rerun compares. */
function chunkHash(records: readonly SourceRecord[]): string {
  const hash = createHash('sha256');
  for (const r of records) {
    hash.update(JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
    hash.update('\n');
  }
  return hash.digest('hex');
}

async function materializeView(
  deps: MaterializeDeps,
  view: FeatureViewDef,
  req: MaterializeRequest,
  chunkSize: number,
): Promise<ViewMaterializeSummary> {
  const started = performance.now();
  const clock = deps.clock ?? Date.now;
  const now = () => new Date(clock()).toISOString();
  const compiled = compileRowView(deps.loaded.repo, view);
  const source = batchSourceOf(deps.loaded.repo, view)!;
  if (source.kind === 'stream') throw new Error('unreachable: a batch source is a file or sql source');
  const mode: RunMode = req.range !== undefined ? 'range' : req.incremental ? 'incremental' : 'full';
  const after = mode === 'incremental' ? await readWatermark(deps.sql, view.name) : undefined;
  const params = {
    viewHash: deps.applied.hashes.get(`view:${view.name}`),
    sourceHash: deps.applied.hashes.get(`source:${source.name}`),
    mode,
    startMs: req.range?.startMs ?? null,
    endMs: req.range?.endMs ?? null,
    afterMs: after ?? null,
    chunkSize,
  };
  const runKey = sha256Hex(JSON.stringify([view.name, params])).slice(0, 32);
  const inRange = (t: number) =>
    req.range !== undefined
      ? t >= req.range.startMs && t < req.range.endMs
      : after === undefined || t > after;

  await startRun(deps.sql, { key: runKey, view: view.name, mode, params }, now());
  const done = await doneChunks(deps.sql, runKey);
  const online = view.online === false ? undefined : await deps.online();
  const opened = await deps.openSource(source, deps.loaded.baseDir);
  const progress = deps.progress ?? silentProgress;
  const totals = { rows: 0, selected: 0, offline: 0, online: 0, bad: 0, chunks: 0, skipped: 0 };
  const badExamples: BadRow[] = [];
  let maxEvent: number | null = null;

  const finishChunk = (c: ChunkRecord) => {
    totals.rows += c.rows;
    totals.selected += c.selected;
    totals.bad += c.bad;
    totals.chunks++;
    for (const b of c.badExamples) if (badExamples.length < MAX_BAD_EXAMPLES) badExamples.push(b);
    if (c.maxEventMs !== null && (maxEvent === null || c.maxEventMs > maxEvent)) maxEvent = c.maxEventMs;
  };

  const processChunk = async (chunkNo: number, records: SourceRecord[]) => {
    const hash = chunkHash(records);
    const previous = done.get(chunkNo);
    if (previous?.hash === hash) {
      totals.skipped++;
      finishChunk(previous);
      return;
    }
    const result = transformChunk(compiled, records, inRange);
    if (online !== undefined && result.rows.length > 0) {
      totals.online += await online.writeMany(latestPerEntity(result.rows), {
        expireAfterMs: compiled.ttlMs,
      });
    }
    const record: ChunkRecord = await deps.sql.transaction(async (tx) => {
      const written = await writeOfflineRows(tx, result.rows, clock());
      const chunk: ChunkRecord = {
        chunkNo,
        hash,
        rows: records.length,
        selected: result.selected,
        written,
        bad: result.bad.length,
        badExamples: result.bad.slice(0, BAD_EXAMPLES_PER_CHUNK),
        maxEventMs: result.maxEventMs,
      };
      await recordChunk(tx, runKey, view.name, chunk, now());
      return chunk;
    });
    totals.offline += record.written;
    // Examples of this run's chunks in full (up to the cap), not only the stored few per chunk.
    finishChunk({ ...record, badExamples: result.bad.slice(0, MAX_BAD_EXAMPLES) });
  };

  try {
    const first = opened.progress();
    progress.start(`materialize ${view.name}`, first.total ?? 0);
    let pending: SourceRecord[] = [];
    let chunkNo = 0;
    let read = 0;
    for await (const batch of opened.records()) {
      for (const r of batch) pending.push(r);
      read += batch.length;
      while (pending.length >= chunkSize) {
        await processChunk(chunkNo++, pending.slice(0, chunkSize));
        pending = pending.slice(chunkSize);
      }
      const p = opened.progress();
      progress.tick(p.done, `${read.toLocaleString('en-US')} rows read, ${totals.bad} bad`);
    }
    if (pending.length > 0) await processChunk(chunkNo++, pending);
    await dropChunksFrom(deps.sql, runKey, chunkNo);
    if (mode !== 'range' && maxEvent !== null) await raiseWatermark(deps.sql, view.name, maxEvent, now());
    await finishRun(deps.sql, runKey, now());
  } finally {
    progress.stop();
    await opened.close();
  }
  return {
    view: view.name,
    runKey,
    mode,
    source: opened.description,
    rows: totals.rows,
    selected: totals.selected,
    offlineWritten: totals.offline,
    onlineWritten: totals.online,
    bad: totals.bad,
    badExamples,
    chunks: totals.chunks,
    skippedChunks: totals.skipped,
    watermarkMs: (await readWatermark(deps.sql, view.name)) ?? null,
    seconds: (performance.now() - started) / 1000,
  };
}

interface ChunkResult {
  rows: OnlineFeatureRow[];
  selected: number;
  bad: BadRow[];
  maxEventMs: number | null;
}

function transformChunk(
  compiled: CompiledRowView,
  records: readonly SourceRecord[],
  inRange: (t: number) => boolean,
): ChunkResult {
  const rows: OnlineFeatureRow[] = [];
  const bad: BadRow[] = [];
  let selected = 0;
  let maxEventMs: number | null = null;
  for (const record of records) {
    if ('reason' in record) {
      bad.push({ line: record.line, reason: record.reason });
      continue;
    }
    // Rows outside the range are not transformed, nor counted bad: they are not this run's.
    const t = compiled.eventTime(record.fields);
    if (t !== undefined && !inRange(t)) continue;
    selected++;
    const r = compiled.apply(record.fields);
    if (!r.ok) {
      bad.push({ line: record.line, reason: r.reason });
      continue;
    }
    rows.push({
      view: compiled.view.name,
      entityKey: r.entityKey,
      eventTimeMs: r.eventTimeMs,
      values: r.values,
    });
    if (maxEventMs === null || r.eventTimeMs > maxEventMs) maxEventMs = r.eventTimeMs;
  }
  return { rows, selected, bad, maxEventMs };
}

/** The online store keeps one row per entity: write each entity's newest (the last one on ties). */
function latestPerEntity(rows: readonly OnlineFeatureRow[]): OnlineFeatureRow[] {
  const latest = new Map<string, OnlineFeatureRow>();
  for (const row of rows) {
    const seen = latest.get(row.entityKey);
    if (seen === undefined || row.eventTimeMs >= seen.eventTimeMs) latest.set(row.entityKey, row);
  }
  return [...latest.values()];
}
