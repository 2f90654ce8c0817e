import type { SqlClient } from '../ports/sql.js';

/**
 * Runs idempotent DDL in one transaction under a lock, so processes starting together (workers,
 * replicas) do not race: PostgreSQL's CREATE … IF NOT EXISTS can still fail when two run at once.
 */
export async function applySchema(
  sql: SqlClient,
  statements: readonly string[],
  lockKey: string,
): Promise<void> {
  await sql.transaction(
    async (tx) => {
      for (const statement of statements) await tx.execute(statement);
    },
    { lockKey },
  );
}
