/**
 * Per-replica counters of shadow tests and canary releases, in the registry's database (SQLite and
 * PostgreSQL alike). Each serving process (a replica, identified by a random id drawn at start)
 * keeps its own cumulative counters in memory and upserts them whole every few seconds; a report is
 * the merge of every replica's row, since every counter is a sum (histograms merge by buckets).
 *
 * - ferry_shadow_stats(experiment, replica, stats, updated_at): ShadowStats JSON, PRIMARY KEY
 *   (experiment, replica).
 * - ferry_canary_stats(experiment, step, arm, replica, stats, updated_at): RequestStats JSON of one
 *   arm over one step of the canary, PRIMARY KEY (experiment, step, arm, replica).
 */

import { defineSchema, migrate } from '../core/migrations.js';
import type { SqlClient, SqlExecutor } from '../ports/sql.js';

const SHADOW_STATS_TABLE = 'ferry_shadow_stats';
const CANARY_STATS_TABLE = 'ferry_canary_stats';

const EXPERIMENT_STATS_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ${SHADOW_STATS_TABLE} (
    experiment TEXT NOT NULL,
    replica TEXT NOT NULL,
    stats TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (experiment, replica)
  )`,
  `CREATE TABLE IF NOT EXISTS ${CANARY_STATS_TABLE} (
    experiment TEXT NOT NULL,
    step INTEGER NOT NULL,
    arm TEXT NOT NULL,
    replica TEXT NOT NULL,
    stats TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (experiment, step, arm, replica)
  )`,
];

/** The store's versioned migrations (`src/core/migrations.ts`); 1 is the DDL of Ferry 0.1.0. */
export const EXPERIMENT_STATS_MIGRATIONS = defineSchema('experiment-stats', [
  { version: 1, description: 'tables of Ferry 0.1.0', statements: EXPERIMENT_STATS_SCHEMA },
]);

export interface ReplicaStatsRow {
  replica: string;
  /** Parsed JSON; checked by the reader (ShadowStats.fromJSON, RequestStats.fromJSON). */
  stats: unknown;
  updatedAt: string;
}

export interface CanaryStatsRow extends ReplicaStatsRow {
  step: number;
  arm: string;
}

export interface CanaryStatsWrite {
  experiment: string;
  step: number;
  arm: string;
  stats: unknown;
}

export class ExperimentStatsStore {
  private readonly sql: SqlClient;
  private readonly clock: () => Date;

  constructor(opts: { sql: SqlClient; clock?: () => Date }) {
    this.sql = opts.sql;
    this.clock = opts.clock ?? (() => new Date());
  }

  /** Creates the tables if missing; safe on every start and from many processes at once. */
  async init(): Promise<void> {
    await migrate(this.sql, EXPERIMENT_STATS_MIGRATIONS);
  }

  /** Replaces this replica's cumulative shadow counters of `experiment`. */
  async upsertShadow(experiment: string, replica: string, stats: unknown): Promise<void> {
    await this.sql.execute(
      `INSERT INTO ${SHADOW_STATS_TABLE} (experiment, replica, stats, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (experiment, replica) DO UPDATE SET stats = excluded.stats, updated_at = excluded.updated_at`,
      [experiment, replica, JSON.stringify(stats), this.clock().toISOString()],
    );
  }

  async shadowRows(experiment: string, executor: SqlExecutor = this.sql): Promise<ReplicaStatsRow[]> {
    const rows = await executor.query<{ replica: string; stats: string; updated_at: string }>(
      `SELECT replica, stats, updated_at FROM ${SHADOW_STATS_TABLE} WHERE experiment = $1 ORDER BY replica`,
      [experiment],
    );
    return rows.map((r) => ({ replica: r.replica, stats: parse(r.stats), updatedAt: r.updated_at }));
  }

  /** Replaces this replica's cumulative counters of the given (experiment, step, arm)s, in one transaction. */
  async upsertCanary(replica: string, writes: readonly CanaryStatsWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const at = this.clock().toISOString();
    await this.sql.transaction(async (tx) => {
      for (const w of writes) {
        await tx.execute(
          `INSERT INTO ${CANARY_STATS_TABLE} (experiment, step, arm, replica, stats, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (experiment, step, arm, replica) DO UPDATE SET stats = excluded.stats, updated_at = excluded.updated_at`,
          [w.experiment, w.step, w.arm, replica, JSON.stringify(w.stats), at],
        );
      }
    });
  }

  /** Every replica's rows of one step of a canary (both arms). */
  async canaryRows(
    experiment: string,
    step: number,
    executor: SqlExecutor = this.sql,
  ): Promise<CanaryStatsRow[]> {
    const rows = await executor.query<{
      step: unknown;
      arm: string;
      replica: string;
      stats: string;
      updated_at: string;
    }>(
      `SELECT step, arm, replica, stats, updated_at FROM ${CANARY_STATS_TABLE}
       WHERE experiment = $1 AND step = $2 ORDER BY arm, replica`,
      [experiment, step],
    );
    return rows.map((r) => ({
      step: Number(r.step),
      arm: r.arm,
      replica: r.replica,
      stats: parse(r.stats),
      updatedAt: r.updated_at,
    }));
  }
}

/** A row that is not JSON reads as null, which the stats readers refuse (and the report skips). */
function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
