import { createHash } from 'node:crypto';
import { sha256Hex } from '../core/hash.js';
import { type Progress, silentProgress } from '../core/progress.js';
import type { OnlineFeatureStore } from '../ports/online-feature-store.js';
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
  startRun,
} from './materialize-state.js';
import { batchSourceOf } from './row-transform.js';
import type { OpenedSource, OpenSource } from './source-rows.js';

/**
 * What the row and window paths of materialize share: the request, the run's identity and
 * progress rows, the source opened, and the summary.
 */
export interface MaterializeRequest {
  /** Views to materialize (default: every view with a batch source). */
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

export const MAX_BAD_EXAMPLES = 20;
export const BAD_EXAMPLES_PER_CHUNK = 5;

/** One view's run, started: its identity, what it selects, the chunks already done, the source. */
export interface ViewRun {
  readonly view: FeatureViewDef;
  readonly runKey: string;
  readonly mode: RunMode;
  /** The watermark an incremental run starts from. */
  readonly afterMs: number | undefined;
  readonly range: MaterializeRequest['range'];
  /** Whether an event time is this run's (range, or newer than the watermark). */
  readonly inRange: (t: number) => boolean;
  readonly done: ReadonlyMap<number, ChunkRecord>;
  readonly online: OnlineFeatureStore | undefined;
  readonly opened: OpenedSource;
  readonly progress: Progress;
  readonly clock: () => number;
  readonly now: () => string;
  readonly started: number;
}

/**
 * Starts (or resumes) a view's run. A run is identified by the view's and its batch source's
 * definitions, the mode, the range, the watermark and the chunk size: rerunning the same run
 * finds the chunks it already wrote.
 */
export async function openViewRun(
  deps: MaterializeDeps,
  view: FeatureViewDef,
  req: MaterializeRequest,
  chunkSize: number,
): Promise<ViewRun> {
  const started = performance.now();
  const clock = deps.clock ?? Date.now;
  const now = () => new Date(clock()).toISOString();
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
  const range = req.range;
  const inRange = (t: number) =>
    range !== undefined ? t >= range.startMs && t < range.endMs : after === undefined || t > after;
  await startRun(deps.sql, { key: runKey, view: view.name, mode, params }, now());
  const done = await doneChunks(deps.sql, runKey);
  const online = view.online === false ? undefined : await deps.online();
  const opened = await deps.openSource(source, deps.loaded.baseDir);
  return {
    view,
    runKey,
    mode,
    afterMs: after,
    range,
    inRange,
    done,
    online,
    opened,
    progress: deps.progress ?? silentProgress,
    clock,
    now,
    started,
  };
}

/** The run's end: chunks past the last (a shrunk source) dropped, the watermark raised, the run done. */
export async function closeViewRun(
  deps: MaterializeDeps,
  run: ViewRun,
  chunks: number,
  maxEventMs: number | null,
): Promise<void> {
  await dropChunksFrom(deps.sql, run.runKey, chunks);
  // A range is a backfill, not progress: it leaves the watermark alone.
  if (run.mode !== 'range' && maxEventMs !== null)
    await raiseWatermark(deps.sql, run.view.name, maxEventMs, run.now());
  await finishRun(deps.sql, run.runKey, run.now());
}

export interface RunTotals {
  rows: number;
  selected: number;
  offline: number;
  online: number;
  bad: number;
  chunks: number;
  skipped: number;
}

export async function summaryOf(
  deps: MaterializeDeps,
  run: ViewRun,
  totals: RunTotals,
  badExamples: readonly BadRow[],
): Promise<ViewMaterializeSummary> {
  return {
    view: run.view.name,
    runKey: run.runKey,
    mode: run.mode,
    source: run.opened.description,
    rows: totals.rows,
    selected: totals.selected,
    offlineWritten: totals.offline,
    onlineWritten: totals.online,
    bad: totals.bad,
    badExamples,
    chunks: totals.chunks,
    skippedChunks: totals.skipped,
    watermarkMs: (await readWatermark(deps.sql, run.view.name)) ?? null,
    seconds: (performance.now() - run.started) / 1000,
  };
}

/** sha256 of a chunk's items (source records, or computed rows), the identity a rerun compares. */
export function chunkHash(items: readonly unknown[]): string {
  const hash = createHash('sha256');
  for (const r of items) {
    hash.update(JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));
    hash.update('\n');
  }
  return hash.digest('hex');
}
