/**
 * A minimal SQL client that both SQLite and PostgreSQL adapters implement.
 * Statements use PostgreSQL-style numbered placeholders ($1, $2, …); the SQLite adapter maps them.
 * Only SQL that both engines accept belongs in domain code (ON CONFLICT, RETURNING, plain types).
 */
export type SqlValue = string | number | bigint | boolean | null | Uint8Array;
export type SqlRow = Record<string, unknown>;

export interface SqlExecutor {
  query<R extends SqlRow = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<R[]>;
  /** Runs a statement and returns the number of rows it changed. */
  execute(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface TransactionOptions {
  /**
   * Serialises transactions that share the key: an advisory lock on PostgreSQL, a write lock
   * (BEGIN IMMEDIATE) on SQLite. Use it around read-then-write sequences such as allocating a version.
   */
  lockKey?: string;
}

export interface SqlClient extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /** Opens connections and creates the namespace (schema) if needed. Safe to call twice. */
  init(): Promise<void>;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, opts?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}
