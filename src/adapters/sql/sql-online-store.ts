import { ErrorCode, FerryError } from '../../core/errors.js';
import { defineSchema, migrate } from '../../core/migrations.js';
import type {
  OnlineFeatureRow,
  OnlineFeatureStore,
  OnlineWriteOptions,
  StoredOnlineFeatureRow,
} from '../../ports/online-feature-store.js';
import type { SqlClient, SqlExecutor, SqlValue } from '../../ports/sql.js';
import { checkRead, checkView, decodeValues, type EncodedOnlineRow, encodeRows } from '../online-rows.js';

export interface SqlOnlineStoreOptions {
  sql: SqlClient;
  /**
   * True when the store opened the client itself (the factory): init() then initialises it and
   * close() closes it. False (default): the caller shares its client and closes it.
   */
  ownsClient?: boolean;
  /** The writer's clock (`writtenAtMs`); tests pass a manual one. */
  clock?: () => number;
  /**
   * How long a call may wait for the database before it fails with FEATURES_UNAVAILABLE (the
   * statement itself is left to finish or fail: a write may still land). Unset: no limit, right for
   * SQLite, whose calls never wait on a network; the factory sets 2000 ms for PostgreSQL.
   */
  callTimeoutMs?: number;
}

const TABLE = 'ferry_online_features';
const COLUMNS = 'view, entity_key, event_time_ms, values_json, written_at_ms';
const COLUMN_COUNT = 5;
/** Rows per upsert: 2500 parameters, far under SQLite's 32766 and PostgreSQL's 65535. */
const ROWS_PER_STATEMENT = 500;
/** Keys per read; a longer list is read in several queries. */
const KEYS_PER_READ = 500;

/**
 * Idempotent DDL both engines accept (BIGINT is an INTEGER in SQLite). The primary key is the
 * only index: every read and write goes by (view, entity_key), deleteView by its view prefix.
 */
export const ONLINE_STORE_MIGRATIONS = defineSchema('online-features', [
  {
    version: 1,
    description: 'latest feature values per (view, entity)',
    statements: [
      `CREATE TABLE IF NOT EXISTS ${TABLE} (
        view TEXT NOT NULL,
        entity_key TEXT NOT NULL,
        event_time_ms BIGINT NOT NULL,
        values_json TEXT NOT NULL,
        written_at_ms BIGINT NOT NULL,
        PRIMARY KEY (view, entity_key)
      )`,
    ],
  },
]);

/**
 * Newer event time wins, in the statement itself: the stored row is replaced only when the
 * incoming event time is >= its own, so concurrent writers converge without reading first.
 */
const UPSERT_TAIL =
  ' ON CONFLICT (view, entity_key) DO UPDATE SET event_time_ms = excluded.event_time_ms,' +
  ' values_json = excluded.values_json, written_at_ms = excluded.written_at_ms' +
  ` WHERE excluded.event_time_ms >= ${TABLE}.event_time_ms`;

type Row = { entity_key: string; event_time_ms: unknown; values_json: string; written_at_ms: unknown };

/**
 * The online feature store in one table of any SqlClient (SQLite by default, PostgreSQL): the
 * embedded choice, and the one to use when Redis is not wanted. Reads are one indexed query per
 * KEYS_PER_READ keys; writes one multi-row upsert per ROWS_PER_STATEMENT rows, all in one
 * transaction. `expireAfterMs` is ignored: rows stay until replaced or their view is deleted.
 */
export class SqlOnlineStore implements OnlineFeatureStore {
  private readonly sql: SqlClient;
  private readonly ownsClient: boolean;
  private readonly clock: () => number;
  private readonly callTimeoutMs: number | undefined;
  private readonly upsertSql = new Map<number, string>();
  private readonly readSql = new Map<number, string>();

  constructor(opts: SqlOnlineStoreOptions) {
    this.sql = opts.sql;
    this.ownsClient = opts.ownsClient ?? false;
    this.clock = opts.clock ?? Date.now;
    const timeout = opts.callTimeoutMs;
    if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) {
      throw new FerryError(ErrorCode.CONFIG_INVALID, 'callTimeoutMs must be a positive number', {
        details: { callTimeoutMs: timeout },
      });
    }
    this.callTimeoutMs = timeout;
  }

  async init(): Promise<void> {
    await this.run(async () => {
      if (this.ownsClient) await this.sql.init();
      await migrate(this.sql, ONLINE_STORE_MIGRATIONS);
    });
  }

  async writeMany(rows: readonly OnlineFeatureRow[], _opts?: OnlineWriteOptions): Promise<number> {
    const encoded = encodeRows(rows);
    if (encoded.length === 0) return 0;
    const writtenAtMs = this.clock();
    const statements: Array<{ sql: string; params: SqlValue[] }> = [];
    for (const round of rounds(encoded)) {
      for (let start = 0; start < round.length; start += ROWS_PER_STATEMENT) {
        const chunk = round.slice(start, start + ROWS_PER_STATEMENT);
        const params: SqlValue[] = new Array(chunk.length * COLUMN_COUNT);
        let p = 0;
        for (const row of chunk) {
          params[p++] = row.view;
          params[p++] = row.entityKey;
          params[p++] = row.eventTimeMs;
          params[p++] = row.valuesJson;
          params[p++] = writtenAtMs;
        }
        statements.push({ sql: this.upsertStatement(chunk.length), params });
      }
    }
    const write = async (executor: SqlExecutor) => {
      let applied = 0;
      // Both engines count a row an upsert inserted or updated, not one its WHERE skipped.
      for (const s of statements) applied += await executor.execute(s.sql, s.params);
      return applied;
    };
    return this.run(() =>
      statements.length === 1 ? write(this.sql) : this.sql.transaction((tx) => write(tx)),
    );
  }

  async readMany(
    view: string,
    entityKeys: readonly string[],
  ): Promise<(StoredOnlineFeatureRow | undefined)[]> {
    checkRead(view, entityKeys);
    if (entityKeys.length === 0) return [];
    const found = new Map<string, StoredOnlineFeatureRow>();
    const unique = entityKeys.length === 1 ? entityKeys : [...new Set(entityKeys)];
    await this.run(async () => {
      for (let start = 0; start < unique.length; start += KEYS_PER_READ) {
        const keys = unique.slice(start, start + KEYS_PER_READ);
        const size = paddedSize(keys.length);
        const params: SqlValue[] = new Array(size + 1);
        params[0] = view;
        // Padding with the first key keeps the statement texts few (one per power of two), so they
        // stay prepared; a repeated key in IN (…) matches its row once.
        for (let i = 0; i < size; i++) params[i + 1] = keys[i] ?? keys[0]!;
        const rows = await this.sql.query<Row>(this.readStatement(size), params);
        for (const row of rows) {
          found.set(row.entity_key, {
            view,
            entityKey: row.entity_key,
            eventTimeMs: Number(row.event_time_ms),
            writtenAtMs: Number(row.written_at_ms),
            values: decodeValues(row.values_json, view, row.entity_key),
          });
        }
      }
    });
    return entityKeys.map((key) => found.get(key));
  }

  async deleteView(view: string): Promise<number> {
    checkView(view);
    return this.run(() => this.sql.execute(`DELETE FROM ${TABLE} WHERE view = $1`, [view]));
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.sql.close();
  }

  /** Runs a database call; "cannot reach the database" becomes the port's FEATURES_UNAVAILABLE. */
  private async run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await (this.callTimeoutMs === undefined ? call() : this.bounded(call(), this.callTimeoutMs));
    } catch (e) {
      if (e instanceof FerryError && e.code === ErrorCode.DB_UNAVAILABLE) {
        throw new FerryError(
          ErrorCode.FEATURES_UNAVAILABLE,
          `the online feature store's database is unavailable: ${e.message}`,
          { details: e.details, cause: e },
        );
      }
      throw e;
    }
  }

  /** `work`, or FEATURES_UNAVAILABLE once `ms` have passed (a database that stopped answering). */
  private bounded<T>(work: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new FerryError(
              ErrorCode.FEATURES_UNAVAILABLE,
              `the online feature store's database did not answer within ${ms} ms`,
              { details: { timeoutMs: ms } },
            ),
          ),
        ms,
      );
    });
    // The loser of the race must not become an unhandled rejection.
    work.catch(() => undefined);
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private upsertStatement(rowCount: number): string {
    let sql = this.upsertSql.get(rowCount);
    if (sql === undefined) {
      const tuples: string[] = new Array(rowCount);
      for (let r = 0; r < rowCount; r++) {
        const b = r * COLUMN_COUNT;
        tuples[r] = `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5})`;
      }
      sql = `INSERT INTO ${TABLE} (${COLUMNS}) VALUES ${tuples.join(', ')}${UPSERT_TAIL}`;
      this.upsertSql.set(rowCount, sql);
    }
    return sql;
  }

  private readStatement(keyCount: number): string {
    let sql = this.readSql.get(keyCount);
    if (sql === undefined) {
      const placeholders = Array.from({ length: keyCount }, (_, i) => `$${i + 2}`).join(', ');
      sql =
        `SELECT entity_key, event_time_ms, values_json, written_at_ms FROM ${TABLE}` +
        ` WHERE view = $1 AND entity_key IN (${placeholders})`;
      this.readSql.set(keyCount, sql);
    }
    return sql;
  }
}

/** 1, 2, 4, … up to KEYS_PER_READ: the IN-list sizes a read uses. */
function paddedSize(n: number): number {
  if (n <= 1) return 1;
  return Math.min(KEYS_PER_READ, 2 ** Math.ceil(Math.log2(n)));
}

/**
 * The rows cut into rounds without a repeated (view, entity): one upsert may not touch a row twice
 * (PostgreSQL refuses it), yet rows of one call with the same key must apply in order, each
 * counted when it applies. Round k holds each key's k-th row, so running the rounds in order is
 * running the rows in order. A row older than an earlier row of its key can never apply (the
 * stored time is at least that one's by then), so it is dropped here, uncounted: a call rarely
 * needs a second round unless it moves one key forward several times. Rows are sorted by key within a
 * round: the order within a round does not matter, the order of rounds does.
 */
function rounds(rows: readonly EncodedOnlineRow[]): EncodedOnlineRow[][] {
  const out: EncodedOnlineRow[][] = [[]];
  const seen = new Map<string, { count: number; newest: number }>();
  for (const row of rows) {
    const key = `${row.view}\u0000${row.entityKey}`; // NUL is in neither part
    const state = seen.get(key);
    if (state === undefined) {
      seen.set(key, { count: 1, newest: row.eventTimeMs });
      out[0]!.push(row);
      continue;
    }
    if (row.eventTimeMs < state.newest) continue;
    state.newest = row.eventTimeMs;
    const round = state.count++;
    if (out[round] === undefined) out[round] = [];
    out[round]!.push(row);
  }
  // Every writer locks rows in one order (PostgreSQL locks them as the statement reaches them), so
  // concurrent upserts of the same keys wait for each other instead of deadlocking. Later rounds
  // touch only rows the first round already holds.
  for (const round of out) round.sort(byKey);
  return out;
}

function byKey(a: EncodedOnlineRow, b: EncodedOnlineRow): number {
  if (a.view !== b.view) return a.view < b.view ? -1 : 1;
  return a.entityKey < b.entityKey ? -1 : a.entityKey > b.entityKey ? 1 : 0;
}
