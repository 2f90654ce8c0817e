import type { OnlineFeatureRow } from '../ports/online-feature-store.js';
import type { FeatureRepoDef, FeatureViewDef } from './feature-definitions.js';
import {
  chunkHash,
  closeViewRun,
  MAX_BAD_EXAMPLES,
  type MaterializeDeps,
  type MaterializeRequest,
  openViewRun,
  type RunTotals,
  summaryOf,
  type ViewMaterializeSummary,
  type ViewRun,
} from './materialize-run.js';
import { type BadRow, type ChunkRecord, recordChunk } from './materialize-state.js';
import { writeOfflineRows } from './offline-store.js';
import { compileRowKey } from './row-transform.js';
import type { BatchRow } from './windows/aggregate-batch.js';
import { runningValues } from './windows/running-values.js';
import { prepareEvent } from './windows/window-state.js';
import { compileWindowView, type WindowView } from './windows/window-view.js';

/**
 * `ferry features materialize` for a window view: its batch source through the window engine, so
 * the values equal those of a stream pipeline that saw the same events in event-time order.
 *
 * 1. The whole source is read (a progress bar over the source, as for row views). Each record is
 *    keyed by the view's join keys and timed, and its aggregated fields are prepared
 *    (`prepareEvent`); a record of the run's range that cannot be is a bad row, counted and
 *    reported with its line. Records outside the range are kept as context when they can change a
 *    value of the range (older ones; a range's rows at or after its end cannot), unreported.
 * 2. `runningValues`: per entity with rows in the range, one value per distinct event time `t` in
 *    the range, computed from the entity's rows at or before `t` (point in time: a training set
 *    never sees a row from after its timestamp). An incremental run recomputes the entities with
 *    rows newer than the watermark, from their rows in the windows those rows fall in (for
 *    sessions, all their older rows), and writes the values of the new times only.
 * 3. The values, sorted by entity and time, are cut into chunks of `chunkSize` values. Per chunk:
 *    the online rows of the entities whose newest value it holds (`currentValue` at their newest
 *    time), then in one transaction the offline values and the chunk's progress row with their
 *    hash. A rerun of the same run recomputes everything (the reading is not saved) and skips the
 *    chunks whose values hash the same, so a run killed at any point and rerun ends as an
 *    uninterrupted one; a second run writes nothing.
 *
 * Memory: every usable record of the source (its entity key, time and prepared values) and every
 * value written, at once.
 */
export async function materializeWindowView(
  deps: MaterializeDeps,
  view: FeatureViewDef,
  req: MaterializeRequest,
  chunkSize: number,
): Promise<ViewMaterializeSummary> {
  const window = compileWindowView(view);
  const run = await openViewRun(deps, view, req, chunkSize);
  const totals: RunTotals = { rows: 0, selected: 0, offline: 0, online: 0, bad: 0, chunks: 0, skipped: 0 };
  const badExamples: BadRow[] = [];
  try {
    const rows = await readRows(deps.loaded.repo, view, window, run, totals, badExamples);
    const values = valuesOf(view.name, window, rows, run.inRange);
    rows.length = 0;
    const maxEvent = await writeChunks(deps, run, window, values, chunkSize, totals);
    await closeViewRun(deps, run, totals.chunks, maxEvent);
  } finally {
    await run.opened.close();
  }
  return summaryOf(deps, run, totals, badExamples);
}

/** Phase 1: every record read, keyed, timed and prepared; bad ones of the range reported. */
async function readRows(
  repo: FeatureRepoDef,
  view: FeatureViewDef,
  window: WindowView,
  run: ViewRun,
  totals: RunTotals,
  badExamples: BadRow[],
): Promise<BatchRow[]> {
  const rowKey = compileRowKey(repo, view);
  const idOf = eventIdOf(repo, view);
  // Rows at or after a range's end are in no value of the range (each value holds older rows only).
  const context = (t: number) => run.range === undefined || t < run.range.endMs;
  const bad = (line: number, reason: string) => {
    totals.bad++;
    if (badExamples.length < MAX_BAD_EXAMPLES) badExamples.push({ line, reason });
  };
  const rows: BatchRow[] = [];
  const { opened, progress } = run;
  progress.start(`materialize ${view.name}`, opened.progress().total ?? 0);
  try {
    for await (const batch of opened.records()) {
      for (const record of batch) {
        totals.rows++;
        if ('reason' in record) {
          bad(record.line, record.reason);
          continue;
        }
        const t = rowKey.eventTime(record.fields);
        // A row without an event time is the run's (and bad), as for row views.
        const selected = t === undefined || run.inRange(t);
        if (!selected && !context(t)) continue;
        if (selected) totals.selected++;
        const key = rowKey.keyOf(record.fields);
        if (!key.ok) {
          if (selected) bad(record.line, key.reason);
          continue;
        }
        const prepared = prepareEvent(window, record.fields);
        if (!prepared.ok) {
          if (selected) bad(record.line, prepared.reason);
          continue;
        }
        rows.push({
          entityKey: key.entityKey,
          eventTimeMs: key.eventTimeMs,
          id: idOf(record.fields, record.line),
          values: prepared.values,
        });
      }
      progress.tick(
        opened.progress().done,
        `${totals.rows.toLocaleString('en-US')} rows read, ${totals.bad} bad`,
      );
    }
  } finally {
    progress.stop();
  }
  return rows;
}

/**
 * The tie-break of `last` between rows of the same event time: for a stream's batch source, the
 * event id (as the stream pipeline breaks it); otherwise, or without one, the row's line, so the
 * later row wins. Lines are padded so that their text sorts like their number.
 */
function eventIdOf(
  repo: FeatureRepoDef,
  view: FeatureViewDef,
): (fields: Readonly<Record<string, unknown>>, line: number) => string {
  const source = repo.sources.find((s) => s.name === view.source);
  const idField = source?.kind === 'stream' ? (source.idField ?? 'id') : undefined;
  return (fields, line) => {
    if (idField !== undefined && Object.hasOwn(fields, idField)) {
      const id = fields[idField];
      if ((typeof id === 'string' && id !== '') || Number.isSafeInteger(id)) return String(id);
    }
    return String(line).padStart(15, '0');
  };
}

/** Phase 2: the values of the range, sorted by entity then time (the order chunks are cut in). */
function valuesOf(
  viewName: string,
  window: WindowView,
  rows: readonly BatchRow[],
  inRange: (t: number) => boolean,
): OnlineFeatureRow[] {
  const entities = runningValues(window, rows, inRange);
  entities.sort((a, b) => (a.entityKey < b.entityKey ? -1 : a.entityKey > b.entityKey ? 1 : 0));
  const out: OnlineFeatureRow[] = [];
  for (const e of entities) {
    for (const v of e.values) {
      out.push({ view: viewName, entityKey: e.entityKey, eventTimeMs: v.eventTimeMs, values: v.values });
    }
  }
  return out;
}

/** Phase 3: the values written chunk by chunk; returns the newest event time written. */
async function writeChunks(
  deps: MaterializeDeps,
  run: ViewRun,
  window: WindowView,
  values: readonly OnlineFeatureRow[],
  chunkSize: number,
  totals: RunTotals,
): Promise<number | null> {
  const chunks = Math.ceil(values.length / chunkSize);
  let maxEvent: number | null = null;
  for (const v of values) if (maxEvent === null || v.eventTimeMs > maxEvent) maxEvent = v.eventTimeMs;
  if (chunks === 0) return maxEvent;
  const { progress } = run;
  progress.start(`write ${run.view.name}`, chunks);
  try {
    for (let chunkNo = 0; chunkNo < chunks; chunkNo++) {
      const from = chunkNo * chunkSize;
      const part = values.slice(from, from + chunkSize);
      const hash = chunkHash(part);
      totals.chunks++;
      if (run.done.get(chunkNo)?.hash === hash) {
        totals.skipped++;
      } else {
        if (run.online !== undefined) {
          // An entity's newest value (the last of its values, sorted by time) is its online row.
          const newest = part.filter((v, i) => values[from + i + 1]?.entityKey !== v.entityKey);
          if (newest.length > 0)
            totals.online += await run.online.writeMany(newest, { expireAfterMs: window.ttlMs });
        }
        const written = await deps.sql.transaction(async (tx) => {
          const n = await writeOfflineRows(tx, part, run.clock());
          const chunk: ChunkRecord = {
            chunkNo,
            hash,
            rows: part.length,
            selected: part.length,
            written: n,
            bad: 0,
            badExamples: [],
            maxEventMs: part.reduce((m, v) => Math.max(m, v.eventTimeMs), Number.NEGATIVE_INFINITY),
          };
          await recordChunk(tx, run.runKey, run.view.name, chunk, run.now());
          return n;
        });
        totals.offline += written;
      }
      progress.tick(chunkNo + 1, `${totals.offline.toLocaleString('en-US')} offline values written`);
    }
  } finally {
    progress.stop();
  }
  return maxEvent;
}
