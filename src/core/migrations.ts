import type { SqlClient, SqlExecutor } from '../ports/sql.js';
import { ErrorCode, FerryError } from './errors.js';

/**
 * Versioned schema migrations, one ordered list per store (registry, prediction store, …), recorded
 * in `ferry_schema_migrations`. A store's migration 1 is the DDL Ferry 0.1.0 ran on every start
 * (`CREATE … IF NOT EXISTS`), so a database written by 0.1.0 upgrades by recording it and running
 * what follows. Later migrations change tables (`ALTER TABLE …`) and run exactly once.
 */
export interface Migration {
  /** 1, 2, 3, … without gaps, in the order they run. */
  readonly version: number;
  /** What it changes, for `ferry db status`. */
  readonly description: string;
  /** Statements both SQLite and PostgreSQL accept, or one list per dialect. */
  readonly statements:
    | readonly string[]
    | { readonly sqlite: readonly string[]; readonly postgres: readonly string[] };
}

export interface StoreSchema {
  /** The store's name in `ferry_schema_migrations` (stable: renaming it re-runs its migrations). */
  readonly store: string;
  readonly migrations: readonly Migration[];
}

export interface StoreSchemaStatus {
  store: string;
  /** The newest version recorded in the database (0: none). */
  current: number;
  /** The newest version this code knows. */
  latest: number;
  pending: Array<Pick<Migration, 'version' | 'description'>>;
}

export const MIGRATIONS_TABLE = 'ferry_schema_migrations';
/**
 * One lock for every store's migrations: they all create the same bookkeeping table, and
 * PostgreSQL's CREATE … IF NOT EXISTS still fails when two sessions run it at once.
 */
const MIGRATIONS_LOCK = 'ferry:schema-migrations';

const BOOKKEEPING = `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
  store TEXT NOT NULL,
  version INTEGER NOT NULL,
  description TEXT NOT NULL,
  applied_at TEXT NOT NULL,
  PRIMARY KEY (store, version)
)`;

/** Throws at definition time (a programming error) when versions are not 1..n in order. */
export function defineSchema(store: string, migrations: readonly Migration[]): StoreSchema {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`${store}: migration ${i} must have version ${i + 1}, has ${m.version}`);
  });
  return Object.freeze({ store, migrations });
}

async function currentVersion(tx: SqlExecutor, store: string): Promise<number> {
  const rows = await tx.query<{ v: number | string | null }>(
    `SELECT MAX(version) AS v FROM ${MIGRATIONS_TABLE} WHERE store = $1`,
    [store],
  );
  return Number(rows[0]?.v ?? 0);
}

function statementsFor(sql: SqlClient, m: Migration): readonly string[] {
  return Array.isArray(m.statements)
    ? (m.statements as readonly string[])
    : (m.statements as { sqlite: readonly string[]; postgres: readonly string[] })[sql.dialect];
}

function tooNew(schema: StoreSchema, current: number): FerryError {
  const latest = schema.migrations.length;
  return new FerryError(
    ErrorCode.DB_SCHEMA_TOO_NEW,
    `the database's ${schema.store} schema is at version ${current}, newer than this Ferry knows (${latest}): upgrade Ferry, or use a database made by this version`,
    { details: { store: schema.store, current, latest } },
  );
}

/**
 * Brings the store's tables to the newest version, in one transaction under the migrations lock
 * (so replicas starting together apply each migration once). Refuses a database newer than the code.
 * Returns the versions applied.
 */
export async function migrate(sql: SqlClient, schema: StoreSchema): Promise<number[]> {
  return sql.transaction(
    async (tx) => {
      await tx.execute(BOOKKEEPING);
      const current = await currentVersion(tx, schema.store);
      if (current > schema.migrations.length) throw tooNew(schema, current);
      const applied: number[] = [];
      for (const m of schema.migrations.slice(current)) {
        for (const statement of statementsFor(sql, m)) await tx.execute(statement);
        await tx.execute(
          `INSERT INTO ${MIGRATIONS_TABLE} (store, version, description, applied_at) VALUES ($1, $2, $3, $4)`,
          [schema.store, m.version, m.description, new Date().toISOString()],
        );
        applied.push(m.version);
      }
      return applied;
    },
    { lockKey: MIGRATIONS_LOCK },
  );
}

/** Where each store's schema stands, without changing anything (the bookkeeping table may not exist). */
export async function schemaStatus(
  sql: SqlClient,
  schemas: readonly StoreSchema[],
): Promise<StoreSchemaStatus[]> {
  const hasTable = await bookkeepingExists(sql);
  const out: StoreSchemaStatus[] = [];
  for (const schema of schemas) {
    const current = hasTable ? await currentVersion(sql, schema.store) : 0;
    out.push({
      store: schema.store,
      current,
      latest: schema.migrations.length,
      pending: schema.migrations.slice(current).map(({ version, description }) => ({ version, description })),
    });
  }
  return out;
}

async function bookkeepingExists(sql: SqlClient): Promise<boolean> {
  const rows =
    sql.dialect === 'sqlite'
      ? await sql.query(`SELECT 1 AS one FROM sqlite_master WHERE type = 'table' AND name = $1`, [
          MIGRATIONS_TABLE,
        ])
      : await sql.query(
          `SELECT 1 AS one FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`,
          [MIGRATIONS_TABLE],
        );
  return rows.length > 0;
}
