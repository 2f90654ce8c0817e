import { defineSchema, migrate } from '../../core/migrations.js';
import type { SqlClient, SqlValue } from '../../ports/sql.js';
import type { Alert, AlertEvidence, Resolution } from './evaluate.js';
import type { AlertOp, AlertSeverity } from './rules.js';

/**
 * The alerts the monitor fired, with their evidence, and the monitor's own state per model (its
 * detectors, log cursor and rule states, as JSON) so a restart resumes where it stopped. SQLite and
 * PostgreSQL alike; migration store `monitor-alerts`.
 *
 * - ferry_monitor_alerts(rule, model, fired_at, …): PRIMARY KEY (rule, model, fired_at), so storing
 *   the same alert twice (a retried tick) keeps one row.
 * - ferry_monitor_state(model, state, updated_at): PRIMARY KEY (model).
 */
export const MONITOR_ALERTS_MIGRATIONS = defineSchema('monitor-alerts', [
  {
    version: 1,
    description:
      'ferry_monitor_alerts (alerts with their evidence) and ferry_monitor_state (detectors, cursors)',
    statements: [
      `CREATE TABLE IF NOT EXISTS ferry_monitor_alerts (
        rule TEXT NOT NULL,
        model TEXT NOT NULL,
        fired_at TEXT NOT NULL,
        version INTEGER NOT NULL,
        severity TEXT NOT NULL,
        metric TEXT NOT NULL,
        op TEXT NOT NULL,
        threshold DOUBLE PRECISION NOT NULL,
        value DOUBLE PRECISION NOT NULL,
        for_ms BIGINT NOT NULL,
        pending_since TEXT NOT NULL,
        message TEXT NOT NULL,
        evidence TEXT NOT NULL,
        resolved_at TEXT,
        delivery TEXT NOT NULL DEFAULT 'none',
        PRIMARY KEY (rule, model, fired_at)
      )`,
      'CREATE INDEX IF NOT EXISTS ferry_monitor_alerts_model_fired ON ferry_monitor_alerts (model, fired_at)',
      `CREATE TABLE IF NOT EXISTS ferry_monitor_state (
        model TEXT NOT NULL PRIMARY KEY,
        state TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
    ],
  },
]);

/** What became of the webhook delivery: `none` (no webhook), `pending`, `delivered`, `failed`. */
export type AlertDelivery = 'none' | 'pending' | 'delivered' | 'failed';

export interface StoredAlert extends Alert {
  readonly resolvedAt: string | null;
  readonly delivery: AlertDelivery;
}

interface AlertRow {
  rule: unknown;
  model: unknown;
  fired_at: unknown;
  version: unknown;
  severity: unknown;
  metric: unknown;
  op: unknown;
  threshold: unknown;
  value: unknown;
  for_ms: unknown;
  pending_since: unknown;
  message: unknown;
  evidence: unknown;
  resolved_at: unknown;
  delivery: unknown;
  [key: string]: unknown;
}

function alertOf(row: AlertRow): StoredAlert {
  return {
    rule: String(row.rule),
    model: String(row.model),
    firedAt: String(row.fired_at),
    version: Number(row.version),
    severity: String(row.severity) as AlertSeverity,
    metric: String(row.metric),
    op: String(row.op) as AlertOp,
    threshold: Number(row.threshold),
    value: Number(row.value),
    forMs: Number(row.for_ms),
    pendingSince: String(row.pending_since),
    message: String(row.message),
    evidence: JSON.parse(String(row.evidence)) as AlertEvidence,
    resolvedAt: row.resolved_at == null ? null : String(row.resolved_at),
    delivery: String(row.delivery) as AlertDelivery,
  };
}

export class AlertStore {
  constructor(
    private readonly sql: SqlClient,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async init(): Promise<void> {
    await migrate(this.sql, MONITOR_ALERTS_MIGRATIONS);
  }

  /** Stores the alert; false when it was stored already (same rule, model and firing time). */
  async insert(alert: Alert, delivery: AlertDelivery): Promise<boolean> {
    const values: SqlValue[] = [
      alert.rule,
      alert.model,
      alert.firedAt,
      alert.version,
      alert.severity,
      alert.metric,
      alert.op,
      alert.threshold,
      alert.value,
      alert.forMs,
      alert.pendingSince,
      alert.message,
      JSON.stringify(alert.evidence),
      delivery,
    ];
    const changed = await this.sql.execute(
      `INSERT INTO ferry_monitor_alerts (rule, model, fired_at, version, severity, metric, op, threshold,
         value, for_ms, pending_since, message, evidence, delivery)
       VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')})
       ON CONFLICT (rule, model, fired_at) DO NOTHING`,
      values,
    );
    return changed > 0;
  }

  async setDelivery(
    alert: Pick<Alert, 'rule' | 'model' | 'firedAt'>,
    delivery: AlertDelivery,
  ): Promise<void> {
    await this.sql.execute(
      'UPDATE ferry_monitor_alerts SET delivery = $1 WHERE rule = $2 AND model = $3 AND fired_at = $4',
      [delivery, alert.rule, alert.model, alert.firedAt],
    );
  }

  async resolve(r: Resolution): Promise<void> {
    await this.sql.execute(
      `UPDATE ferry_monitor_alerts SET resolved_at = $1
       WHERE rule = $2 AND model = $3 AND fired_at = $4 AND resolved_at IS NULL`,
      [r.resolvedAt, r.rule, r.model, r.firedAt],
    );
  }

  /** A model's alerts, newest first. */
  async list(
    model: string,
    opts: { readonly limit?: number; readonly since?: string } = {},
  ): Promise<StoredAlert[]> {
    const params: SqlValue[] = [model];
    let where = 'model = $1';
    if (opts.since !== undefined) {
      params.push(opts.since);
      where += ` AND fired_at >= $${params.length}`;
    }
    params.push(Math.max(1, Math.min(10_000, Math.floor(opts.limit ?? 100))));
    const rows = await this.sql.query<AlertRow>(
      `SELECT * FROM ferry_monitor_alerts WHERE ${where} ORDER BY fired_at DESC, rule LIMIT $${params.length}`,
      params,
    );
    return rows.map(alertOf);
  }

  /** The monitor's saved state of a model (parsed JSON, checked by the loop), or undefined. */
  async loadState(model: string): Promise<unknown> {
    const rows = await this.sql.query<{ state: unknown }>(
      'SELECT state FROM ferry_monitor_state WHERE model = $1',
      [model],
    );
    const raw = rows[0]?.state;
    return raw == null ? undefined : (JSON.parse(String(raw)) as unknown);
  }

  async saveState(model: string, state: unknown): Promise<void> {
    await this.sql.execute(
      `INSERT INTO ferry_monitor_state (model, state, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (model) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
      [model, JSON.stringify(state), this.clock().toISOString()],
    );
  }
}
