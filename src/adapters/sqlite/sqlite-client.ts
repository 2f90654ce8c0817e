import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, FerryError } from '../../core/errors.js';
import type { SqlClient, SqlExecutor, SqlRow, SqlValue, TransactionOptions } from '../../ports/sql.js';
import { Mutex, mutexForFile } from './mutex.js';
import { toSqliteParams, toSqlitePlaceholders } from './placeholders.js';
import { toSqliteFerryError } from './sqlite-errors.js';

export interface SqliteClientOptions {
  /** A file path, or `:memory:` for a private in-memory database. */
  path: string;
  /** How long a writer waits for another connection's write lock before failing with DB_LOCKED. */
  busyTimeoutMs?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const STATEMENT_CACHE_SIZE = 256;

interface TransactionScope {
  active: boolean;
}

/**
 * SqlClient over one better-sqlite3 connection. better-sqlite3 is synchronous, so the async
 * transactions of this process are serialised by a mutex (shared by all clients of the same
 * file), and plain queries wait for the running transaction instead of slipping into it.
 * Other processes are kept out by BEGIN IMMEDIATE plus busy_timeout.
 */
export class SqliteClient implements SqlClient {
  readonly dialect = 'sqlite' as const;
  readonly path: string;
  readonly busyTimeoutMs: number;
  private db: Database.Database | undefined;
  private readonly mutex: Mutex;
  private readonly scope = new AsyncLocalStorage<TransactionScope>();
  private readonly statements = new Map<string, Database.Statement>();

  constructor(opts: SqliteClientOptions) {
    const busyTimeoutMs = opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new FerryError(ErrorCode.CONFIG_INVALID, `busyTimeoutMs must be a non-negative integer`, {
        details: { busyTimeoutMs },
      });
    }
    this.path = opts.path;
    this.busyTimeoutMs = busyTimeoutMs;
    this.mutex = this.isMemory() ? new Mutex() : mutexForFile(resolve(opts.path));
  }

  async init(): Promise<void> {
    if (this.db !== undefined) return;
    try {
      if (!this.isMemory()) mkdirSync(dirname(resolve(this.path)), { recursive: true });
      const db = new Database(this.path, { timeout: this.busyTimeoutMs });
      try {
        db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
        db.pragma('journal_mode = WAL');
        db.pragma('foreign_keys = ON');
      } catch (e) {
        db.close();
        throw e;
      }
      this.db = db;
    } catch (e) {
      throw toSqliteFerryError(e, this.path);
    }
  }

  query<R extends SqlRow = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    return this.outsideTransaction(() => this.runQuery<R>(sql, params));
  }

  execute(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.outsideTransaction(() => this.runExecute(sql, params));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, _opts: TransactionOptions = {}): Promise<T> {
    if (this.scope.getStore()?.active) {
      return Promise.reject(
        new FerryError(
          ErrorCode.INTERNAL,
          'nested transactions are not supported: use the executor passed to the outer transaction',
        ),
      );
    }
    // Every transaction takes the write lock up front (lockKey or not): a deferred transaction
    // that later tries to write can fail with SQLITE_BUSY without waiting at all.
    return this.mutex.run(async () => {
      const scope: TransactionScope = { active: true };
      try {
        return await this.scope.run(scope, () => this.runTransaction(fn, scope));
      } finally {
        // Off again between transactions: while any AsyncLocalStorage is on, Node 20 runs its
        // promise hooks for every promise of the process (issue 16: 8-12 % of /predict's throughput).
        // Safe here: the mutex runs one transaction at a time, and after this one no context may
        // see an active scope anyway; the next transaction's run() turns it back on.
        this.scope.disable();
      }
    });
  }

  async close(): Promise<void> {
    await this.mutex.run(async () => {
      this.statements.clear();
      this.db?.close();
      this.db = undefined;
    });
  }

  private async runTransaction<T>(fn: (tx: SqlExecutor) => Promise<T>, scope: TransactionScope): Promise<T> {
    try {
      const db = this.open();
      this.exec(db, 'BEGIN IMMEDIATE');
      const result = await fn(this.executorFor(scope));
      this.exec(db, 'COMMIT');
      return result;
    } catch (e) {
      if (this.db?.inTransaction) this.exec(this.db, 'ROLLBACK');
      throw e;
    } finally {
      scope.active = false;
    }
  }

  private executorFor(scope: TransactionScope): SqlExecutor {
    const guard = <T>(run: () => T): Promise<T> => {
      if (!scope.active) {
        return Promise.reject(
          new FerryError(ErrorCode.INTERNAL, 'transaction executor used after its transaction ended'),
        );
      }
      return settle(run);
    };
    return {
      query: <R extends SqlRow = SqlRow>(sql: string, params: readonly SqlValue[] = []) =>
        guard(() => this.runQuery<R>(sql, params)),
      execute: (sql: string, params: readonly SqlValue[] = []) => guard(() => this.runExecute(sql, params)),
    };
  }

  /** Inside this client's own transaction a plain query joins it; elsewhere it waits its turn. */
  private outsideTransaction<T>(run: () => T): Promise<T> {
    if (this.scope.getStore()?.active) return settle(run);
    return this.mutex.run(async () => run());
  }

  private runQuery<R>(sql: string, params: readonly SqlValue[]): R[] {
    try {
      const stmt = this.prepare(sql);
      const args = params.length === 0 ? [] : [toSqliteParams(params)];
      if (stmt.reader) return stmt.all(...args) as R[];
      stmt.run(...args);
      return [];
    } catch (e) {
      throw toSqliteFerryError(e, this.path);
    }
  }

  private runExecute(sql: string, params: readonly SqlValue[]): number {
    try {
      const stmt = this.prepare(sql);
      const args = params.length === 0 ? [] : [toSqliteParams(params)];
      return stmt.run(...args).changes;
    } catch (e) {
      throw toSqliteFerryError(e, this.path);
    }
  }

  private prepare(sql: string): Database.Statement {
    const cached = this.statements.get(sql);
    if (cached !== undefined) return cached;
    const stmt = this.open().prepare(toSqlitePlaceholders(sql));
    if (this.statements.size >= STATEMENT_CACHE_SIZE) this.statements.clear();
    this.statements.set(sql, stmt);
    return stmt;
  }

  private exec(db: Database.Database, sql: string): void {
    try {
      db.exec(sql);
    } catch (e) {
      throw toSqliteFerryError(e, this.path);
    }
  }

  private open(): Database.Database {
    if (this.db === undefined) {
      throw new FerryError(
        ErrorCode.DB_UNAVAILABLE,
        `SQLite client for ${this.path} is not open: call init() first`,
        {
          details: { path: this.path },
        },
      );
    }
    return this.db;
  }

  private isMemory(): boolean {
    return this.path === ':memory:' || this.path === '';
  }
}

function settle<T>(run: () => T): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (e) {
    return Promise.reject(e);
  }
}
