import { randomUUID } from 'node:crypto';
import { ErrorCode, FerryError } from '../../core/errors.js';
import { defineSchema, migrate } from '../../core/migrations.js';
import type { SqlClient, SqlExecutor } from '../../ports/sql.js';

/**
 * Retraining runs and the one lease per model that keeps two replicas from retraining it at once
 * (migration store `retrain`). Times are ISO 8601 text in UTC, which compares in time order on both
 * databases. A run's decision and figures are JSON text.
 */
export const RETRAIN_MIGRATIONS = defineSchema('retrain', [
  {
    version: 1,
    description: 'retraining runs and per-model leases',
    statements: [
      `CREATE TABLE IF NOT EXISTS ferry_retrain_runs (
        id TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        trigger TEXT NOT NULL,
        status TEXT NOT NULL,
        policy TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        candidate_version INTEGER,
        production_version INTEGER,
        decision TEXT,
        outcome TEXT,
        error_code TEXT,
        error_message TEXT
      )`,
      'CREATE INDEX IF NOT EXISTS ferry_retrain_runs_model_started ON ferry_retrain_runs (model, started_at)',
      `CREATE TABLE IF NOT EXISTS ferry_retrain_leases (
        model TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        expires_at TEXT NOT NULL
      )`,
    ],
  },
]);

export type RunStatus = 'running' | 'passed' | 'refused' | 'failed';

export interface RetrainRun {
  id: string;
  model: string;
  trigger: string;
  status: RunStatus;
  policy: string;
  startedAt: string;
  finishedAt: string | null;
  candidateVersion: number | null;
  productionVersion: number | null;
  /** The gate's decision with its figures (null until the gate ran). */
  decision: unknown;
  /** What the policy did (alias moved, experiment created), null when nothing was applied. */
  outcome: unknown;
  errorCode: string | null;
  errorMessage: string | null;
}

interface RunRow {
  id: string;
  model: string;
  trigger: string;
  status: string;
  policy: string;
  started_at: string;
  finished_at: string | null;
  candidate_version: number | string | null;
  production_version: number | string | null;
  decision: string | null;
  outcome: string | null;
  error_code: string | null;
  error_message: string | null;
  [key: string]: unknown;
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));
const json = (v: string | null): unknown => (v === null ? null : JSON.parse(v));

function toRun(r: RunRow): RetrainRun {
  return {
    id: r.id,
    model: r.model,
    trigger: r.trigger,
    status: r.status as RunStatus,
    policy: r.policy,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    candidateVersion: num(r.candidate_version),
    productionVersion: num(r.production_version),
    decision: json(r.decision),
    outcome: json(r.outcome),
    errorCode: r.error_code,
    errorMessage: r.error_message,
  };
}

/** The message of runs found `running` whose lease had expired: the process that ran them died. */
export const ABANDONED = 'abandoned: the process running it stopped before it finished (its lease expired)';

export interface RetrainStoreOptions {
  sql: SqlClient;
  now?: () => Date;
}

export class RetrainStore {
  private readonly sql: SqlClient;
  private readonly now: () => Date;

  constructor(opts: RetrainStoreOptions) {
    this.sql = opts.sql;
    this.now = opts.now ?? (() => new Date());
  }

  async init(): Promise<void> {
    await migrate(this.sql, RETRAIN_MIGRATIONS);
  }

  /**
   * Takes the model's lease for a new run and records the run as `running`, in one transaction:
   * the lease is free when absent or expired. An expired lease's run (and any other run of the model
   * still `running` without a lease) is marked failed (abandoned). A live lease: FERRY_RETRAIN_BUSY.
   */
  async start(run: { model: string; trigger: string; policy: string; leaseMs: number }): Promise<string> {
    const id = randomUUID();
    await this.sql.transaction(
      async (tx) => {
        const now = this.now();
        const at = now.toISOString();
        const held = await tx.query<{ run_id: string; expires_at: string }>(
          'SELECT run_id, expires_at FROM ferry_retrain_leases WHERE model = $1',
          [run.model],
        );
        const lease = held[0];
        if (lease && lease.expires_at > at) {
          throw new FerryError(
            ErrorCode.RETRAIN_BUSY,
            `model ${run.model} is being retrained (run ${lease.run_id}, lease until ${lease.expires_at})`,
            { details: { model: run.model, run: lease.run_id, leaseExpiresAt: lease.expires_at } },
          );
        }
        await this.abandonRunning(tx, run.model, at);
        const expires = new Date(now.getTime() + run.leaseMs).toISOString();
        await tx.execute(
          `INSERT INTO ferry_retrain_leases (model, run_id, expires_at) VALUES ($1, $2, $3)
           ON CONFLICT (model) DO UPDATE SET run_id = excluded.run_id, expires_at = excluded.expires_at`,
          [run.model, id, expires],
        );
        await tx.execute(
          `INSERT INTO ferry_retrain_runs (id, model, trigger, status, policy, started_at)
           VALUES ($1, $2, $3, 'running', $4, $5)`,
          [id, run.model, run.trigger, run.policy, at],
        );
      },
      { lockKey: `retrain:${run.model}` },
    );
    return id;
  }

  /** Runs left `running` while nobody holds the lease belong to a process that died. */
  private async abandonRunning(tx: SqlExecutor, model: string, at: string): Promise<void> {
    await tx.execute(
      `UPDATE ferry_retrain_runs SET status = 'failed', finished_at = $2, error_message = $3
       WHERE model = $1 AND status = 'running'`,
      [model, at, ABANDONED],
    );
  }

  /** Extends the lease; false when this run no longer holds it (it expired and another run took it). */
  async renew(model: string, runId: string, leaseMs: number): Promise<boolean> {
    const expires = new Date(this.now().getTime() + leaseMs).toISOString();
    const changed = await this.sql.execute(
      'UPDATE ferry_retrain_leases SET expires_at = $3 WHERE model = $1 AND run_id = $2',
      [model, runId, expires],
    );
    return changed > 0;
  }

  /** Records how the run ended and frees the lease (only if this run still holds it), in one transaction. */
  async finish(
    model: string,
    runId: string,
    end: {
      status: Exclude<RunStatus, 'running'>;
      candidateVersion?: number | null;
      productionVersion?: number | null;
      decision?: unknown;
      outcome?: unknown;
      errorCode?: string | null;
      errorMessage?: string | null;
    },
  ): Promise<void> {
    const enc = (v: unknown) => (v === undefined || v === null ? null : JSON.stringify(v));
    await this.sql.transaction(
      async (tx) => {
        await tx.execute(
          `UPDATE ferry_retrain_runs SET status = $2, finished_at = $3, candidate_version = $4,
             production_version = $5, decision = $6, outcome = $7, error_code = $8, error_message = $9
           WHERE id = $1`,
          [
            runId,
            end.status,
            this.now().toISOString(),
            end.candidateVersion ?? null,
            end.productionVersion ?? null,
            enc(end.decision),
            enc(end.outcome),
            end.errorCode ?? null,
            end.errorMessage ?? null,
          ],
        );
        await tx.execute('DELETE FROM ferry_retrain_leases WHERE model = $1 AND run_id = $2', [model, runId]);
      },
      { lockKey: `retrain:${model}` },
    );
  }

  /** The model's runs, newest first. */
  async history(model: string, limit = 100): Promise<RetrainRun[]> {
    const rows = await this.sql.query<RunRow>(
      `SELECT * FROM ferry_retrain_runs WHERE model = $1 ORDER BY started_at DESC, id LIMIT $2`,
      [model, limit],
    );
    return rows.map(toRun);
  }

  /** When the model's newest run started (the start of "new labels since the last run"), or null. */
  async lastStartedAt(model: string): Promise<string | null> {
    const rows = await this.sql.query<{ at: string | null }>(
      'SELECT MAX(started_at) AS at FROM ferry_retrain_runs WHERE model = $1',
      [model],
    );
    return rows[0]?.at ?? null;
  }
}
