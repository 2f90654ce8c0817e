import { ErrorCode, FerryError } from '../../core/errors.js';
import { defineSchema, migrate } from '../../core/migrations.js';
import type { PredictionLogReader } from '../../ports/prediction-log-reader.js';
import type { PredictionLogRecord, TensorLogItem } from '../../ports/prediction-log-sink.js';
import type { StoredPrediction, StoredPredictionStore } from '../../ports/prediction-store.js';
import type { SqlClient, SqlExecutor, SqlValue } from '../../ports/sql.js';
import type { FeedbackSource, LabeledPrediction, LabeledWindow } from '../feedback-types.js';
import { keyOf, type LabelKey, labelKeyText, type NewLabel } from './feedback-input.js';
import { storedTopLabel, topLabel } from './top-label.js';

/**
 * One row per (model, request or entity, item): the primary key is what makes a repeated label
 * idempotent. `key_kind` says whether `key_id` is a logged request id or a stored prediction's
 * entity id (a nullable pair of columns could not be a primary key on PostgreSQL). Times are ISO
 * 8601 strings of one width, so text order is time order on both engines.
 */
export const FEEDBACK_MIGRATIONS = defineSchema('feedback', [
  {
    version: 1,
    description: 'ferry_feedback: delayed labels, one per (model, request or entity id, item)',
    statements: [
      `CREATE TABLE IF NOT EXISTS ferry_feedback (
        model TEXT NOT NULL,
        key_kind TEXT NOT NULL,
        key_id TEXT NOT NULL,
        item INTEGER NOT NULL,
        label TEXT NOT NULL,
        received_at TEXT NOT NULL,
        PRIMARY KEY (model, key_kind, key_id, item)
      )`,
      'CREATE INDEX IF NOT EXISTS ferry_feedback_model_received ON ferry_feedback (model, received_at)',
    ],
  },
]);

/** What one POST (or one imported chunk) did: `unmatched` counts labels among `stored`. */
export interface RecordOutcome {
  stored: number;
  duplicates: number;
  /** Stored labels whose prediction was not known when they arrived (they join once it is). */
  unmatched: number;
}

export interface FeedbackStoreDeps {
  sql: SqlClient;
  /** The prediction log read back: labels by request id join to it. */
  log: PredictionLogReader;
  /** Stored (batch) predictions: labels by entity id join to them; absent: those stay unmatched. */
  stored?: Pick<StoredPredictionStore, 'get'>;
  /** The store's clock (tests). */
  now?: () => Date;
}

/** Rows per INSERT (6 parameters each: well under both engines' limits). */
const ROWS_PER_INSERT = 500;
/** Ids per IN list of a lookup. */
const IDS_PER_LOOKUP = 500;
/** Request ids handed to the log reader at once: bounds the records held while joining. */
const IDS_PER_JOIN = 2000;
/** Request-id lookups of one join in flight at once. */
const JOINS_IN_FLIGHT = 4;
/** Stored-prediction reads in flight at once (the port reads one entity at a time). */
const ENTITY_READS_IN_FLIGHT = 8;
/** Conflicts listed in a 409's details (the count is complete). */
const CONFLICTS_SHOWN = 20;

interface FeedbackRow {
  key_kind: unknown;
  key_id: unknown;
  item: unknown;
  label: unknown;
  received_at: unknown;
  [key: string]: unknown;
}

interface StoredLabel extends LabelKey {
  label: string;
  receivedAt: string;
}

function rowToLabel(r: FeedbackRow): StoredLabel {
  return {
    kind: r.key_kind === 'entity' ? 'entity' : 'request',
    id: String(r.key_id),
    item: Number(r.item),
    label: String(r.label),
    receivedAt: String(r.received_at),
  };
}

function chunks<T>(values: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

/**
 * Delayed labels in the database (SQLite or PostgreSQL), joined to the predictions they judge when
 * read (so a label that arrives before its prediction's log row is written matches later).
 */
export class FeedbackStore implements FeedbackSource {
  private readonly now: () => Date;

  constructor(private readonly deps: FeedbackStoreDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async init(): Promise<void> {
    await migrate(this.deps.sql, FEEDBACK_MIGRATIONS);
  }

  /**
   * Stores `labels` of `model`, all or nothing: a label already stored with the same value is a
   * duplicate (nothing written), with another value a conflict (409 FERRY_FEEDBACK_CONFLICT,
   * nothing of the request stored). A label whose logged request has fewer items than its `item` is
   * refused (400 FERRY_FEEDBACK_INVALID) before anything is written.
   */
  async record(model: string, labels: readonly NewLabel[]): Promise<RecordOutcome> {
    const unique = new Map<string, { label: NewLabel; index: number }>();
    const conflicts: Array<Record<string, unknown>> = [];
    let duplicates = 0;
    labels.forEach((label, index) => {
      const k = labelKeyText(keyOf(label));
      const first = unique.get(k);
      if (first === undefined) unique.set(k, { label, index });
      else if (first.label.label === label.label) duplicates++;
      else conflicts.push(conflictDetail(label, index, first.label.label));
    });
    if (conflicts.length > 0) throw conflictError(conflicts);
    const candidates = [...unique.values()];
    const known = await this.knownPredictions(
      model,
      candidates.map((c) => c.label),
    );
    for (const { label, index } of candidates) {
      const record = label.requestId !== undefined ? known.requests.get(label.requestId) : undefined;
      if (record !== undefined && label.item >= record.itemCount) {
        throw new FerryError(
          ErrorCode.FEEDBACK_INVALID,
          `labels[${index}].item: request ${JSON.stringify(label.requestId)} has ${record.itemCount} item(s), so item ${label.item} does not exist`,
          { details: { field: `labels[${index}].item`, itemCount: record.itemCount } },
        );
      }
    }
    const receivedAt = this.now().toISOString();
    const inserted = await this.deps.sql.transaction(async (tx) => {
      const newKeys = new Set<string>();
      // In key order: two requests inserting overlapping labels wait on each other, never deadlock.
      const ordered = [...candidates].sort((x, y) => compareKeys(keyOf(x.label), keyOf(y.label)));
      for (const chunk of chunks(ordered, ROWS_PER_INSERT)) {
        for (const k of await insertChunk(
          tx,
          model,
          receivedAt,
          chunk.map((c) => c.label),
        ))
          newKeys.add(k);
      }
      const rest = candidates.filter((c) => !newKeys.has(labelKeyText(keyOf(c.label))));
      const existing = await readLabels(
        tx,
        model,
        rest.map((c) => keyOf(c.label)),
      );
      for (const { label, index } of rest) {
        const was = existing.get(labelKeyText(keyOf(label)));
        if (was === undefined || was === label.label) duplicates++;
        else conflicts.push(conflictDetail(label, index, was));
      }
      // Thrown inside the transaction: nothing of this request is kept.
      if (conflicts.length > 0) throw conflictError(conflicts);
      return newKeys;
    });
    let unmatched = 0;
    for (const { label } of candidates) {
      if (!inserted.has(labelKeyText(keyOf(label)))) continue;
      const matched =
        label.requestId !== undefined
          ? known.requests.has(label.requestId)
          : known.entities.has(label.entityId ?? '');
      if (!matched) unmatched++;
    }
    return { stored: inserted.size, duplicates, unmatched };
  }

  /** The predictions of `model` the labels name, as known now (request records, entity ids). */
  private async knownPredictions(
    model: string,
    labels: readonly NewLabel[],
  ): Promise<{ requests: Map<string, PredictionLogRecord>; entities: Set<string> }> {
    const requestIds = labels.flatMap((l) => (l.requestId !== undefined ? [l.requestId] : []));
    const requests = new Map<string, PredictionLogRecord>();
    for (const ids of chunks([...new Set(requestIds)], IDS_PER_JOIN)) {
      for (const r of await this.deps.log.findByRequestIds(ids))
        if (r.model === model) requests.set(r.requestId, r);
    }
    const entityIds = [...new Set(labels.flatMap((l) => (l.entityId !== undefined ? [l.entityId] : [])))];
    const found = await this.storedPredictions(model, entityIds);
    return { requests, entities: new Set(found.keys()) };
  }

  private async storedPredictions(
    model: string,
    ids: readonly string[],
  ): Promise<Map<string, StoredPrediction>> {
    const out = new Map<string, StoredPrediction>();
    const store = this.deps.stored;
    if (store === undefined || ids.length === 0) return out;
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const p = await store.get(model, id);
        if (p !== undefined) out.set(id, p);
      }
    };
    await Promise.all(Array.from({ length: Math.min(ENTITY_READS_IN_FLIGHT, ids.length) }, worker));
    return out;
  }

  async labeled(
    model: string,
    range: { since?: string; until?: string; version?: number; last?: number },
  ): Promise<LabeledWindow> {
    const labels = await this.labelsIn(model, range);
    const matched: LabeledPrediction[] = [];
    let unmatched = 0;
    const keep = (p: LabeledPrediction) => {
      if (range.version === undefined || p.version === range.version) matched.push(p);
    };
    const byRequest = labels.filter((l) => l.kind === 'request');
    // A few lookups in flight: PostgreSQL's pool answers them in parallel (SQLite in turn).
    const parts = chunks(byRequest, IDS_PER_JOIN);
    const joined: Array<Array<LabeledPrediction | undefined>> = new Array(parts.length);
    let next = 0;
    const worker = async () => {
      while (next < parts.length) {
        const index = next++;
        const part = parts[index]!;
        const records = new Map<string, PredictionLogRecord>();
        for (const r of await this.deps.log.findByRequestIds(part.map((l) => l.id)))
          if (r.model === model) records.set(r.requestId, r);
        joined[index] = part.map((l) => {
          const record = records.get(l.id);
          const item = record?.items[l.item];
          if (record === undefined || item === undefined) return undefined;
          return {
            requestId: l.id,
            item: l.item,
            version: record.version,
            at: record.at,
            label: l.label,
            predicted: topLabel(item),
            logged: item,
          };
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(JOINS_IN_FLIGHT, parts.length) }, worker));
    // In the order the labels were received, whatever order the lookups finished in.
    for (const part of joined) {
      for (const p of part) {
        if (p === undefined) unmatched++;
        else keep(p);
      }
    }
    const byEntity = labels.filter((l) => l.kind === 'entity');
    const stored = await this.storedPredictions(
      model,
      byEntity.map((l) => l.id),
    );
    for (const l of byEntity) {
      const p = stored.get(l.id);
      if (p === undefined) {
        unmatched++;
        continue;
      }
      const logged: TensorLogItem = { inputs: {}, outputs: p.outputs, source: 'model' };
      keep({
        requestId: '',
        entityId: l.id,
        item: 0,
        version: p.version,
        at: p.computedAt,
        label: l.label,
        predicted: storedTopLabel(p),
        logged,
      });
    }
    return { matched, unmatched };
  }

  /** The labels received in the range, oldest first (the newest `last` when it is given). */
  private async labelsIn(
    model: string,
    range: { since?: string; until?: string; last?: number },
  ): Promise<StoredLabel[]> {
    const params: SqlValue[] = [model];
    const where = ['model = $1'];
    if (range.since !== undefined) {
      params.push(range.since);
      where.push(`received_at >= $${params.length}`);
    }
    if (range.until !== undefined) {
      params.push(range.until);
      where.push(`received_at < $${params.length}`);
    }
    const columns = 'key_kind, key_id, item, label, received_at';
    if (range.last === undefined) {
      const rows = await this.deps.sql.query<FeedbackRow>(
        `SELECT ${columns} FROM ferry_feedback WHERE ${where.join(' AND ')} ORDER BY received_at, key_kind, key_id, item`,
        params,
      );
      return rows.map(rowToLabel);
    }
    params.push(Math.max(0, Math.floor(range.last)));
    const rows = await this.deps.sql.query<FeedbackRow>(
      `SELECT ${columns} FROM ferry_feedback WHERE ${where.join(' AND ')}
       ORDER BY received_at DESC, key_kind DESC, key_id DESC, item DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(rowToLabel).reverse();
  }

  async countSince(model: string, since: string): Promise<number> {
    const [row] = await this.deps.sql.query<{ n: unknown }>(
      'SELECT COUNT(*) AS n FROM ferry_feedback WHERE model = $1 AND received_at >= $2',
      [model, since],
    );
    return Number(row?.n ?? 0);
  }
}

/** Inserts the labels that are new; returns their keys (RETURNING lists only the rows inserted). */
async function insertChunk(
  tx: SqlExecutor,
  model: string,
  receivedAt: string,
  labels: readonly NewLabel[],
): Promise<string[]> {
  if (labels.length === 0) return [];
  const params: SqlValue[] = [];
  const tuples = labels.map((l) => {
    const k = keyOf(l);
    params.push(model, k.kind, k.id, k.item, l.label, receivedAt);
    const n = params.length;
    return `($${n - 5}, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
  });
  const rows = await tx.query<FeedbackRow>(
    `INSERT INTO ferry_feedback (model, key_kind, key_id, item, label, received_at)
     VALUES ${tuples.join(', ')}
     ON CONFLICT (model, key_kind, key_id, item) DO NOTHING
     RETURNING key_kind, key_id, item`,
    params,
  );
  return rows.map((r) =>
    labelKeyText({
      kind: r.key_kind === 'entity' ? 'entity' : 'request',
      id: String(r.key_id),
      item: Number(r.item),
    }),
  );
}

/** The stored label of each key (keys of one model), by key text. */
async function readLabels(
  tx: SqlExecutor,
  model: string,
  keys: readonly LabelKey[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const kind of ['request', 'entity'] as const) {
    const ids = [...new Set(keys.filter((k) => k.kind === kind).map((k) => k.id))];
    for (const part of chunks(ids, IDS_PER_LOOKUP)) {
      const rows = await tx.query<FeedbackRow>(
        `SELECT key_kind, key_id, item, label, received_at FROM ferry_feedback
         WHERE model = $1 AND key_kind = $2 AND key_id IN (${part.map((_, i) => `$${i + 3}`).join(', ')})`,
        [model, kind, ...part],
      );
      for (const r of rows) {
        const l = rowToLabel(r);
        out.set(labelKeyText(l), l.label);
      }
    }
  }
  return out;
}

function compareKeys(a: LabelKey, b: LabelKey): number {
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return a.item - b.item;
}

function conflictDetail(label: NewLabel, index: number, existing: string): Record<string, unknown> {
  return {
    index,
    ...(label.requestId !== undefined ? { request_id: label.requestId } : { entity_id: label.entityId }),
    item: label.item,
    label: label.label,
    existing,
  };
}

function conflictError(conflicts: ReadonlyArray<Record<string, unknown>>): FerryError {
  const first = conflicts[0]!;
  return new FerryError(
    ErrorCode.FEEDBACK_CONFLICT,
    `${conflicts.length} label(s) differ from the one already given for the same prediction (labels[${String(first.index)}]: ${JSON.stringify(first.label)}, already ${JSON.stringify(first.existing)}); nothing of this request was stored`,
    { details: { count: conflicts.length, conflicts: conflicts.slice(0, CONFLICTS_SHOWN) } },
  );
}
