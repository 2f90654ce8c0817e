import { AsyncLocalStorage } from 'node:async_hooks';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import { ErrorCode, FerryError } from '../../core/errors.js';
import type { SqlClient, SqlExecutor, SqlRow, SqlValue, TransactionOptions } from '../../ports/sql.js';
import { connectError, statementError } from './postgres-errors.js';
import { type PostgresTarget, parsePostgresUrl } from './postgres-target.js';

export interface PostgresClientOptions {
  url: string;
  /** Created if missing and put first on every connection's search_path. */
  schema?: string;
  maxConnections?: number;
  connectTimeoutMs?: number;
  /** How long a statement waits for a lock (advisory locks included) before DB_LOCKED; unset waits forever. */
  lockTimeoutMs?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const INT8_OID = 20;

interface TransactionScope {
  client: PoolClient;
  active: boolean;
}

/** SqlClient over a `pg` Pool; the driver is imported in init(), so the embedded default never loads it. */
export class PostgresClient implements SqlClient {
  readonly dialect = 'postgres' as const;
  readonly schema: string | undefined;
  private readonly url: string;
  private readonly target: PostgresTarget;
  private readonly opts: PostgresClientOptions;
  private pool: Pool | undefined;
  private opening: Promise<void> | undefined;
  private readonly scope = new AsyncLocalStorage<TransactionScope>();
  /** Transactions in flight (they may overlap, each on its own pooled connection). */
  private openTransactions = 0;

  constructor(opts: PostgresClientOptions) {
    if (opts.schema !== undefined && !SCHEMA_NAME.test(opts.schema)) {
      throw new FerryError(
        ErrorCode.CONFIG_INVALID,
        `invalid PostgreSQL schema name ${JSON.stringify(opts.schema)}: use lower-case letters, digits and _`,
      );
    }
    this.url = opts.url;
    this.target = parsePostgresUrl(opts.url);
    this.schema = opts.schema;
    this.opts = opts;
  }

  init(): Promise<void> {
    if (this.pool !== undefined) return Promise.resolve();
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  query<R extends SqlRow = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<R[]> {
    return this.withClient(async (client) => (await this.run<R>(client, sql, params)).rows);
  }

  execute(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.withClient(async (client) => (await this.run(client, sql, params)).rowCount);
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, opts: TransactionOptions = {}): Promise<T> {
    if (this.scope.getStore()?.active) {
      throw new FerryError(
        ErrorCode.INTERNAL,
        'nested transactions are not supported: use the executor passed to the outer transaction',
      );
    }
    const client = await this.connect();
    const scope: TransactionScope = { client, active: true };
    let broken = false;
    this.openTransactions++;
    try {
      return await this.scope.run(scope, async () => {
        await this.run(client, 'BEGIN');
        if (opts.lockKey !== undefined) {
          await this.run(client, 'SELECT pg_advisory_xact_lock(hashtext($1))', [opts.lockKey]);
        }
        const result = await fn(this.executorFor(scope));
        await this.run(client, 'COMMIT');
        return result;
      });
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // a connection that cannot roll back must not go back to the pool
      }
      throw e;
    } finally {
      scope.active = false;
      client.release(broken);
      // Off again when no transaction is open: while any AsyncLocalStorage is on, Node 20 runs its
      // promise hooks for every promise of the process (issue 16: 8-12 % of /predict's throughput).
      // No context can see an active scope then; the next transaction's run() turns it back on.
      if (--this.openTransactions === 0) this.scope.disable();
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }

  private async open(): Promise<void> {
    let pg: typeof import('pg').default;
    try {
      pg = (await import('pg')).default;
    } catch (e) {
      throw new FerryError(
        ErrorCode.DB_UNAVAILABLE,
        'the "pg" package is needed for postgres:// URLs: npm install pg',
        {
          cause: e,
        },
      );
    }
    const defaultParser = pg.types.getTypeParser;
    const config: PoolConfig = {
      connectionString: this.url,
      max: this.opts.maxConnections ?? 10,
      connectionTimeoutMillis: this.opts.connectTimeoutMs ?? 10_000,
      // Per pool, not pg.types.setTypeParser: other pg users in the process keep their parsers.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID && format !== 'binary'
            ? parseInt8
            : defaultParser(oid, format)) as typeof defaultParser,
      },
    };
    if (this.schema !== undefined) config.options = `-c search_path=${this.schema}`;
    if (this.opts.lockTimeoutMs !== undefined) config.lock_timeout = this.opts.lockTimeoutMs;
    const pool = new pg.Pool(config);
    // An idle connection dying (server restart) must not crash the process; the next checkout reconnects.
    pool.on('error', () => undefined);
    try {
      const client = await this.connectFrom(pool);
      try {
        if (this.schema !== undefined) await this.createSchema(client, this.schema);
      } finally {
        client.release();
      }
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e;
    }
    this.pool = pool;
  }

  private async createSchema(client: PoolClient, schema: string): Promise<void> {
    try {
      await this.run(client, `CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    } catch (e) {
      // Two processes creating the same schema at once: the loser sees a duplicate, which is fine.
      const code = ((e as FerryError).cause as { code?: string } | undefined)?.code;
      if (code !== '23505' && code !== '42P06') throw e;
    }
  }

  private async withClient<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const scope = this.scope.getStore();
    // Inside a transaction, plain queries join it, as on SQLite.
    if (scope?.active) return fn(scope.client);
    const client = await this.connect();
    try {
      return await fn(client);
    } finally {
      client.release();
    }
  }

  private executorFor(scope: TransactionScope): SqlExecutor {
    const guard = () => {
      if (!scope.active)
        throw new FerryError(ErrorCode.INTERNAL, 'transaction executor used after its transaction ended');
    };
    return {
      query: async <R extends SqlRow = SqlRow>(sql: string, params: readonly SqlValue[] = []) => {
        guard();
        return (await this.run<R>(scope.client, sql, params)).rows;
      },
      execute: async (sql: string, params: readonly SqlValue[] = []) => {
        guard();
        return (await this.run(scope.client, sql, params)).rowCount;
      },
    };
  }

  private async run<R extends SqlRow = SqlRow>(
    client: PoolClient,
    sql: string,
    params: readonly SqlValue[] = [],
  ): Promise<{ rows: R[]; rowCount: number }> {
    try {
      const result = await client.query<R>(sql, params.map(toPgValue));
      return { rows: result.rows, rowCount: result.rowCount ?? 0 };
    } catch (e) {
      throw statementError(e, this.target);
    }
  }

  private connect(): Promise<PoolClient> {
    if (this.pool === undefined) {
      return Promise.reject(
        new FerryError(ErrorCode.DB_UNAVAILABLE, 'PostgreSQL client is not open: call init() first'),
      );
    }
    return this.connectFrom(this.pool);
  }

  private async connectFrom(pool: Pool): Promise<PoolClient> {
    try {
      const client = await pool.connect();
      // A checked-out client whose connection dies emits 'error' on itself, not on the pool: without
      // a listener that is an uncaught exception (the server process dies with its database). The
      // query in progress, if any, is rejected and reported by run().
      if (!listened.has(client)) {
        listened.add(client);
        client.on('error', () => undefined);
      }
      return client;
    } catch (e) {
      throw connectError(e, this.target);
    }
  }
}

const listened = new WeakSet<PoolClient>();

/** BIGINT (COUNT(*), SUM, …) as a number when it fits, a bigint when it does not: never a string. */
function parseInt8(text: string): number | bigint {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : BigInt(text);
}

function toPgValue(value: SqlValue): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return value;
}
