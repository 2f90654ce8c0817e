/**
 * Experiments, exposures and outcome events in the registry's database (any SqlClient). SQL that
 * SQLite and PostgreSQL both accept; every aggregate the analysis needs is computed by the database,
 * so two replicas on one PostgreSQL read the same numbers.
 *
 * Tables:
 * - ferry_experiments: one row per experiment: the definition (JSON), status, current weights, the
 *   weights history (JSON), the conclusion, the running always-valid (mSPRT) state and a revision.
 * - ferry_experiment_exposures: PRIMARY KEY (experiment, unit): a unit's first arm is kept
 *   (stickiness, intent-to-treat); later exposures only add to `requests`.
 * - ferry_experiment_events: PRIMARY KEY (experiment, event_id): an event posted twice counts once
 *   (ON CONFLICT DO NOTHING; the first one wins). Events of units never exposed are stored too and
 *   counted apart (`unexposed`), never analysed. Since migration 2 an admin can exclude events
 *   (excluded_at/by/reason): they stay stored and no aggregate counts them.
 */

import { defineSchema, migrate } from '../core/migrations.js';
import type { SqlClient, SqlExecutor, SqlValue } from '../ports/sql.js';
import { checkOverlap, experimentConflict, experimentNotFound } from './experiment-definition.js';
import {
  ACTIVE_STATUSES,
  type ArmAggregate,
  type Conclusion,
  type Experiment,
  type ExperimentAggregates,
  type ExperimentDefinition,
  type ExperimentEvent,
  type ExperimentStatus,
  type Exposure,
  MAX_METRIC_BOUND,
  type MetricAggregate,
  type WeightsChange,
} from './experiment-types.js';

const EXPERIMENTS_TABLE = 'ferry_experiments';
const EXPOSURES_TABLE = 'ferry_experiment_exposures';
export const EVENTS_TABLE = 'ferry_experiment_events';

/**
 * Idempotent DDL; JSON in TEXT columns, times as ISO 8601 TEXT. Exposures carry no index beyond
 * their primary key: they are written on every new unit, and the per-arm counts scan the
 * experiment's key range anyway.
 */
const EXPERIMENT_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ${EXPERIMENTS_TABLE} (
    name TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    definition TEXT NOT NULL,
    weights TEXT NOT NULL,
    weights_history TEXT NOT NULL,
    conclusion TEXT NULL,
    sequential TEXT NOT NULL,
    controller_state TEXT NULL,
    bandit_period INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    revision INTEGER NOT NULL
  )`,
  `CREATE INDEX IF NOT EXISTS ${EXPERIMENTS_TABLE}_model_status ON ${EXPERIMENTS_TABLE} (model, status)`,
  `CREATE TABLE IF NOT EXISTS ${EXPOSURES_TABLE} (
    experiment TEXT NOT NULL,
    unit TEXT NOT NULL,
    arm TEXT NOT NULL,
    version INTEGER NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    requests BIGINT NOT NULL,
    PRIMARY KEY (experiment, unit)
  )`,
  `CREATE TABLE IF NOT EXISTS ${EVENTS_TABLE} (
    experiment TEXT NOT NULL,
    event_id TEXT NOT NULL,
    unit TEXT NOT NULL,
    metric TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (experiment, event_id)
  )`,
  `CREATE INDEX IF NOT EXISTS ${EVENTS_TABLE}_unit ON ${EVENTS_TABLE} (experiment, unit, metric)`,
];

/** The store's versioned migrations (`src/core/migrations.ts`); 1 is the DDL of Ferry 0.1.0. */
export const EXPERIMENT_MIGRATIONS = defineSchema('experiments', [
  { version: 1, description: 'tables of Ferry 0.1.0', statements: EXPERIMENT_SCHEMA },
  {
    version: 2,
    description: 'events can be excluded by an admin (when, by whom, why)',
    statements: [
      `ALTER TABLE ${EVENTS_TABLE} ADD COLUMN excluded_at TEXT NULL`,
      `ALTER TABLE ${EVENTS_TABLE} ADD COLUMN excluded_by TEXT NULL`,
      `ALTER TABLE ${EVENTS_TABLE} ADD COLUMN excluded_reason TEXT NULL`,
    ],
  },
]);

/**
 * Stored values the aggregates use: within ±MAX_METRIC_BOUND (which also leaves out PostgreSQL's
 * NaN and ±Infinity). Validation refuses anything beyond at the edge; this guards against rows
 * written before bounds existed or by hand, which would otherwise overflow SUM and fail every
 * reader of the aggregates (analysis, bandit updates, the canary controller).
 */
const VALID_VALUE = `value BETWEEN ${-MAX_METRIC_BOUND} AND ${MAX_METRIC_BOUND}`;

/**
 * Which events an admin excludes: the conditions given all hold (ids, a unit, a metric, values beyond
 * ±MAX_METRIC_BOUND or not finite); at least one of eventIds, unit and outOfRange.
 */
export interface EventSelection {
  eventIds?: readonly string[];
  unit?: string;
  metric?: string;
  outOfRange?: boolean;
}

const EXPERIMENT_COLUMNS =
  'name, model, type, status, definition, weights, weights_history, conclusion, sequential, controller_state, bandit_period, created_at, updated_at, revision';

type ExperimentRow = {
  name: string;
  model: string;
  type: string;
  status: string;
  definition: string;
  weights: string;
  weights_history: string;
  conclusion: string | null;
  sequential: string;
  controller_state: string | null;
  bandit_period: unknown;
  created_at: string;
  updated_at: string;
  revision: unknown;
};

/** Rows per multi-row INSERT (7 parameters each: far under both engines' limits). */
const ROWS_PER_STATEMENT = 500;

/** A change made by `update`: only the fields given are written; `revision` always increases. */
export interface ExperimentPatch {
  status?: ExperimentStatus;
  weights?: number[];
  /** Appended to the weights history (with `weights`, normally). */
  historyEntry?: WeightsChange;
  conclusion?: Conclusion | null;
  banditPeriod?: number;
  /** The always-valid (mSPRT) running state of the analysis, replaced whole (alone, it leaves revision and updatedAt). */
  sequential?: Record<string, unknown>;
  /**
   * The state of the experiment type's controller (the canary state machine's JSON, say), replaced
   * whole; written in the same transaction as the weights, so a step and its state move together.
   */
  controllerState?: unknown;
}

/** What `update`'s callback sees besides the experiment. */
export interface ExperimentExtras {
  sequential: Record<string, unknown>;
  /** null until a controller stored something. */
  controllerState: unknown;
}

export interface ExperimentStoreOptions {
  sql: SqlClient;
  clock?: () => Date;
}

export class ExperimentStore {
  private readonly sql: SqlClient;
  private readonly clock: () => Date;
  private readonly statements = new Map<string, string>();

  constructor(opts: ExperimentStoreOptions) {
    this.sql = opts.sql;
    this.clock = opts.clock ?? (() => new Date());
  }

  /** Creates the tables if missing; safe on every start and from many processes at once. */
  async init(): Promise<void> {
    await migrate(this.sql, EXPERIMENT_MIGRATIONS);
  }

  now(): Date {
    return this.clock();
  }

  /**
   * Inserts a new experiment (status running, weights from the definition) after checking, under
   * one lock shared by every creation, that the name is free (409) and that no active experiment
   * of the model overlaps (409, see checkOverlap). `init.controllerState` is the type's controller
   * state at creation (the canary's), written with the row.
   */
  async create(def: ExperimentDefinition, init: { controllerState?: unknown } = {}): Promise<Experiment> {
    return this.sql.transaction(
      async (tx) => {
        const [taken] = await tx.query<{ name: string }>(
          `SELECT name FROM ${EXPERIMENTS_TABLE} WHERE name = $1`,
          [def.name],
        );
        if (taken !== undefined) {
          throw experimentConflict(
            `an experiment named "${def.name}" already exists (names are never reused)`,
            {
              name: def.name,
            },
          );
        }
        const active = await this.listWith(tx, { model: def.model, statuses: ACTIVE_STATUSES });
        checkOverlap(def, active);
        const at = this.clock().toISOString();
        const weights = def.arms.map((a) => a.weight);
        const experiment: Experiment = {
          ...def,
          status: 'running',
          weights,
          weightsHistory: [{ at, weights, reason: 'created' }],
          conclusion: null,
          banditPeriod: 0,
          createdAt: at,
          updatedAt: at,
          revision: 1,
        };
        await tx.execute(
          `INSERT INTO ${EXPERIMENTS_TABLE} (${EXPERIMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
          [
            def.name,
            def.model,
            def.type,
            experiment.status,
            JSON.stringify(def),
            JSON.stringify(weights),
            JSON.stringify(experiment.weightsHistory),
            null,
            '{}',
            init.controllerState === undefined ? null : JSON.stringify(init.controllerState),
            0,
            at,
            at,
            1,
          ],
        );
        return experiment;
      },
      { lockKey: 'experiments:create' },
    );
  }

  async get(name: string, executor: SqlExecutor = this.sql): Promise<Experiment | undefined> {
    const [row] = await executor.query<ExperimentRow>(
      `SELECT ${EXPERIMENT_COLUMNS} FROM ${EXPERIMENTS_TABLE} WHERE name = $1`,
      [name],
    );
    return row === undefined ? undefined : fromRow(row);
  }

  /** The experiment with its analysis and controller states (read without the lock), or undefined. */
  async getWithExtras(
    name: string,
    executor: SqlExecutor = this.sql,
  ): Promise<{ experiment: Experiment; extras: ExperimentExtras } | undefined> {
    const [row] = await executor.query<ExperimentRow>(
      `SELECT ${EXPERIMENT_COLUMNS} FROM ${EXPERIMENTS_TABLE} WHERE name = $1`,
      [name],
    );
    return row === undefined ? undefined : { experiment: fromRow(row), extras: extrasOf(row) };
  }

  /** The experiment, or 404 FERRY_EXPERIMENT_NOT_FOUND. */
  async require(name: string, executor: SqlExecutor = this.sql): Promise<Experiment> {
    const found = await this.get(name, executor);
    if (found === undefined) throw experimentNotFound(name);
    return found;
  }

  /** Experiments, oldest first; filtered by model and/or statuses when given. */
  list(filter: { model?: string; statuses?: readonly ExperimentStatus[] } = {}): Promise<Experiment[]> {
    return this.listWith(this.sql, filter);
  }

  private async listWith(
    executor: SqlExecutor,
    filter: { model?: string; statuses?: readonly ExperimentStatus[] },
  ): Promise<Experiment[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.model !== undefined) {
      params.push(filter.model);
      where.push(`model = $${params.length}`);
    }
    if (filter.statuses !== undefined) {
      if (filter.statuses.length === 0) return [];
      const marks = filter.statuses.map((s) => {
        params.push(s);
        return `$${params.length}`;
      });
      where.push(`status IN (${marks.join(', ')})`);
    }
    const rows = await executor.query<ExperimentRow>(
      `SELECT ${EXPERIMENT_COLUMNS} FROM ${EXPERIMENTS_TABLE}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`,
      params,
    );
    return rows
      .map(fromRow)
      .sort((a, b) =>
        a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.name < b.name ? -1 : 1,
      );
  }

  /**
   * Read-modify-write of one experiment under its lock (advisory lock / SQLite write lock), so
   * replicas never lose each other's changes (a bandit update and a pause, say). `fn` returns the
   * patch to write, or undefined to leave the row alone; the result is the experiment afterwards.
   */
  async update(
    name: string,
    fn: (
      experiment: Experiment,
      tx: SqlExecutor,
      extras: ExperimentExtras,
    ) => Promise<ExperimentPatch | undefined> | ExperimentPatch | undefined,
  ): Promise<Experiment> {
    return this.sql.transaction(
      async (tx) => {
        const [row] = await tx.query<ExperimentRow>(
          `SELECT ${EXPERIMENT_COLUMNS} FROM ${EXPERIMENTS_TABLE} WHERE name = $1`,
          [name],
        );
        if (row === undefined) throw experimentNotFound(name);
        const experiment = fromRow(row);
        const patch = await fn(experiment, tx, extrasOf(row));
        if (patch === undefined) return experiment;
        // Only the analysis state changes: not a change of the experiment (revision and updatedAt stay).
        const touch = Object.keys(patch).some((k) => k !== 'sequential');
        const next: Experiment = {
          ...experiment,
          ...(patch.status !== undefined ? { status: patch.status } : {}),
          ...(patch.weights !== undefined ? { weights: [...patch.weights] } : {}),
          ...(patch.conclusion !== undefined ? { conclusion: patch.conclusion } : {}),
          ...(patch.banditPeriod !== undefined ? { banditPeriod: patch.banditPeriod } : {}),
          weightsHistory:
            patch.historyEntry !== undefined
              ? [...experiment.weightsHistory, patch.historyEntry]
              : experiment.weightsHistory,
          updatedAt: touch ? this.clock().toISOString() : experiment.updatedAt,
          revision: touch ? experiment.revision + 1 : experiment.revision,
        };
        const params: SqlValue[] = [
          name,
          next.status,
          JSON.stringify(next.weights),
          JSON.stringify(next.weightsHistory),
          next.conclusion === null ? null : JSON.stringify(next.conclusion),
          next.banditPeriod,
          next.updatedAt,
          next.revision,
        ];
        let extra = '';
        if (patch.sequential !== undefined) {
          params.push(JSON.stringify(patch.sequential));
          extra += `, sequential = $${params.length}`;
        }
        if (patch.controllerState !== undefined) {
          params.push(patch.controllerState === null ? null : JSON.stringify(patch.controllerState));
          extra += `, controller_state = $${params.length}`;
        }
        await tx.execute(
          `UPDATE ${EXPERIMENTS_TABLE} SET status = $2, weights = $3, weights_history = $4, conclusion = $5,
             bandit_period = $6, updated_at = $7, revision = $8${extra}
           WHERE name = $1`,
          params,
        );
        return next;
      },
      { lockKey: `experiment:${name}` },
    );
  }

  /**
   * Upserts exposures: a new (experiment, unit) keeps the arm given; an existing one keeps its first
   * arm and version and only adds `requests` (and moves last_at forward). Rows for one key within a
   * call are merged first (PostgreSQL refuses to update one row twice in a statement).
   */
  async upsertExposures(rows: readonly Exposure[]): Promise<void> {
    if (rows.length === 0) return;
    const merged = new Map<string, Exposure & { lastAt: string }>();
    for (const row of rows) {
      const key = `${row.experiment}\u0000${row.unit}`;
      const seen = merged.get(key);
      if (seen === undefined) merged.set(key, { ...row, lastAt: row.at });
      else {
        seen.requests += row.requests;
        if (row.at < seen.at) {
          seen.at = row.at;
          seen.arm = row.arm;
          seen.version = row.version;
        }
        if (row.at > seen.lastAt) seen.lastAt = row.at;
      }
    }
    const all = [...merged.values()];
    const write = async (executor: SqlExecutor) => {
      for (let start = 0; start < all.length; start += ROWS_PER_STATEMENT) {
        const chunk = all.slice(start, start + ROWS_PER_STATEMENT);
        const params: SqlValue[] = [];
        for (const r of chunk)
          params.push(r.experiment, r.unit, r.arm, r.version, r.at, r.lastAt, r.requests);
        await executor.execute(this.exposureStatement(chunk.length), params);
      }
    };
    if (all.length <= ROWS_PER_STATEMENT) await write(this.sql);
    else await this.sql.transaction(write);
  }

  /**
   * Stores events; an event id already stored for the experiment (or repeated in the call) is a
   * duplicate: not stored again, counted in `duplicates`. The caller checks the status first.
   */
  async recordEvents(
    experiment: string,
    events: readonly ExperimentEvent[],
  ): Promise<{ inserted: number; duplicates: number }> {
    const receivedAt = this.clock().toISOString();
    const unique = new Map<string, ExperimentEvent>();
    for (const e of events) if (!unique.has(e.eventId)) unique.set(e.eventId, e);
    const all = [...unique.values()];
    let inserted = 0;
    const write = async (executor: SqlExecutor) => {
      for (let start = 0; start < all.length; start += ROWS_PER_STATEMENT) {
        const chunk = all.slice(start, start + ROWS_PER_STATEMENT);
        const params: SqlValue[] = [];
        for (const e of chunk)
          params.push(experiment, e.eventId, e.unit, e.metric, e.value, e.at ?? receivedAt, receivedAt);
        inserted += await executor.execute(this.eventStatement(chunk.length), params);
      }
    };
    if (all.length <= ROWS_PER_STATEMENT) await write(this.sql);
    else await this.sql.transaction(write);
    return { inserted, duplicates: events.length - inserted };
  }

  /**
   * Per arm: exposed units and requests; per arm and metric: units with events, events, Σ and Σ² of
   * the units' values (a unit's value is the sum of its events) and converting units (a unit whose
   * largest value is > 0). Plus the events of units never exposed, apart.
   */
  async aggregates(
    experiment: Pick<Experiment, 'name' | 'arms' | 'metrics'>,
    executor: SqlExecutor = this.sql,
  ): Promise<ExperimentAggregates> {
    const name = experiment.name;
    const armRows = await executor.query<{ arm: string; units: unknown; requests: unknown }>(
      `SELECT arm, COUNT(*) AS units, SUM(requests) AS requests FROM ${EXPOSURES_TABLE} WHERE experiment = $1 GROUP BY arm`,
      [name],
    );
    // Two passes (the arm's mean, then Σ (x − mean)²): the variance without the cancellation of
    // Σx² − (Σx)²/n, and with bounded values no sum can overflow.
    const metricRows = await executor.query<{
      arm: string;
      metric: string;
      units: unknown;
      events: unknown;
      sum: unknown;
      m2: unknown;
      conversions: unknown;
    }>(
      `WITH u AS (
         SELECT unit, metric, COUNT(*) AS events, SUM(value) AS total, MAX(value) AS max_value
         FROM ${EVENTS_TABLE}
         WHERE experiment = $1 AND excluded_at IS NULL AND ${VALID_VALUE}
         GROUP BY unit, metric),
       ux AS (
         SELECT x.arm AS arm, u.metric AS metric, u.events AS events, u.total AS total, u.max_value AS max_value
         FROM u JOIN ${EXPOSURES_TABLE} x ON x.experiment = $1 AND x.unit = u.unit),
       m AS (SELECT arm, metric, AVG(total) AS mean FROM ux GROUP BY arm, metric)
       SELECT ux.arm AS arm, ux.metric AS metric, COUNT(*) AS units, SUM(ux.events) AS events,
         SUM(ux.total) AS sum, SUM((ux.total - m.mean) * (ux.total - m.mean)) AS m2,
         SUM(CASE WHEN ux.max_value > 0 THEN 1 ELSE 0 END) AS conversions
       FROM ux JOIN m ON m.arm = ux.arm AND m.metric = ux.metric
       GROUP BY ux.arm, ux.metric`,
      [name],
    );
    const invalidRows = await executor.query<{ metric: string; events: unknown }>(
      `SELECT metric, COUNT(*) AS events FROM ${EVENTS_TABLE}
       WHERE experiment = $1 AND excluded_at IS NULL AND NOT (${VALID_VALUE})
       GROUP BY metric`,
      [name],
    );
    const unexposedRows = await executor.query<{ metric: string; events: unknown; units: unknown }>(
      `SELECT e.metric AS metric, COUNT(*) AS events, COUNT(DISTINCT e.unit) AS units
       FROM ${EVENTS_TABLE} e
       WHERE e.experiment = $1 AND e.excluded_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM ${EXPOSURES_TABLE} x WHERE x.experiment = $1 AND x.unit = e.unit)
       GROUP BY e.metric`,
      [name],
    );
    const [totals] = await executor.query<{ events: unknown; excluded: unknown; unexposed_units: unknown }>(
      `SELECT (SELECT COUNT(*) FROM ${EVENTS_TABLE} WHERE experiment = $1 AND excluded_at IS NULL) AS events,
         (SELECT COUNT(*) FROM ${EVENTS_TABLE} WHERE experiment = $1 AND excluded_at IS NOT NULL) AS excluded,
         (SELECT COUNT(DISTINCT e.unit) FROM ${EVENTS_TABLE} e WHERE e.experiment = $1 AND e.excluded_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM ${EXPOSURES_TABLE} x WHERE x.experiment = $1 AND x.unit = e.unit)) AS unexposed_units`,
      [name],
    );
    const arms: ArmAggregate[] = experiment.arms.map((a) => {
      const row = armRows.find((r) => r.arm === a.name);
      const metrics: Record<string, MetricAggregate> = {};
      for (const m of experiment.metrics) {
        const mr = metricRows.find((r) => r.arm === a.name && r.metric === m.name);
        const units = num(mr?.units);
        const sum = num(mr?.sum);
        const m2 = num(mr?.m2);
        metrics[m.name] = {
          unitsWithEvents: units,
          events: num(mr?.events),
          sum,
          sumSq: units > 0 ? m2 + (sum * sum) / units : 0,
          m2,
          conversions: num(mr?.conversions),
          invalidEvents: num(invalidRows.find((r) => r.metric === m.name)?.events),
        };
      }
      return { arm: a.name, units: num(row?.units), requests: num(row?.requests), metrics };
    });
    const byMetric: Record<string, { events: number; units: number }> = {};
    let unexposedEvents = 0;
    for (const r of unexposedRows) {
      byMetric[r.metric] = { events: num(r.events), units: num(r.units) };
      unexposedEvents += num(r.events);
    }
    return {
      arms,
      unexposed: { events: unexposedEvents, units: num(totals?.unexposed_units), byMetric },
      totalEvents: num(totals?.events),
      excludedEvents: num(totals?.excluded),
    };
  }

  /**
   * Marks the selected events of `experiment` excluded (when, by whom, why): they stay stored but no
   * aggregate counts them. Events already excluded keep their first record. Returns how many were
   * excluded now.
   */
  async excludeEvents(
    experiment: string,
    selection: EventSelection,
    record: { by: string; reason: string },
  ): Promise<number> {
    const params: SqlValue[] = [experiment, this.clock().toISOString(), record.by, record.reason];
    const where: string[] = ['experiment = $1', 'excluded_at IS NULL'];
    if (selection.eventIds !== undefined && selection.eventIds.length > 0) {
      const marks = selection.eventIds.map((id) => {
        params.push(id);
        return `$${params.length}`;
      });
      where.push(`event_id IN (${marks.join(', ')})`);
    }
    if (selection.unit !== undefined) {
      params.push(selection.unit);
      where.push(`unit = $${params.length}`);
    }
    if (selection.metric !== undefined) {
      params.push(selection.metric);
      where.push(`metric = $${params.length}`);
    }
    if (selection.outOfRange === true) where.push(`NOT (${VALID_VALUE})`);
    if (where.length === 2 || (where.length === 3 && selection.metric !== undefined)) {
      throw new Error('excludeEvents needs event ids, a unit or outOfRange');
    }
    return this.sql.execute(
      `UPDATE ${EVENTS_TABLE} SET excluded_at = $2, excluded_by = $3, excluded_reason = $4 WHERE ${where.join(' AND ')}`,
      params,
    );
  }

  private exposureStatement(rows: number): string {
    const key = `exposures:${rows}`;
    let sql = this.statements.get(key);
    if (sql === undefined) {
      sql =
        `INSERT INTO ${EXPOSURES_TABLE} (experiment, unit, arm, version, first_at, last_at, requests) VALUES ${tuples(rows, 7)}` +
        ` ON CONFLICT (experiment, unit) DO UPDATE SET requests = ${EXPOSURES_TABLE}.requests + excluded.requests,` +
        ` last_at = CASE WHEN excluded.last_at > ${EXPOSURES_TABLE}.last_at THEN excluded.last_at ELSE ${EXPOSURES_TABLE}.last_at END`;
      this.statements.set(key, sql);
    }
    return sql;
  }

  private eventStatement(rows: number): string {
    const key = `events:${rows}`;
    let sql = this.statements.get(key);
    if (sql === undefined) {
      sql =
        `INSERT INTO ${EVENTS_TABLE} (experiment, event_id, unit, metric, value, at, received_at) VALUES ${tuples(rows, 7)}` +
        ' ON CONFLICT (experiment, event_id) DO NOTHING';
      this.statements.set(key, sql);
    }
    return sql;
  }
}

function tuples(rows: number, columns: number): string {
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    const marks: string[] = [];
    for (let c = 1; c <= columns; c++) marks.push(`$${r * columns + c}`);
    out.push(`(${marks.join(', ')})`);
  }
  return out.join(', ');
}

/** COUNT and SUM come back as numbers, bigints or (PostgreSQL NUMERIC) strings; NULL means 0. */
function num(value: unknown): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : Number(value);
}

function extrasOf(row: ExperimentRow): ExperimentExtras {
  return {
    sequential: JSON.parse(row.sequential) as Record<string, unknown>,
    controllerState: row.controller_state === null ? null : (JSON.parse(row.controller_state) as unknown),
  };
}

function fromRow(row: ExperimentRow): Experiment {
  const def = JSON.parse(row.definition) as ExperimentDefinition;
  return {
    ...def,
    status: row.status as ExperimentStatus,
    weights: JSON.parse(row.weights) as number[],
    weightsHistory: JSON.parse(row.weights_history) as WeightsChange[],
    conclusion: row.conclusion === null ? null : (JSON.parse(row.conclusion) as Conclusion),
    banditPeriod: num(row.bandit_period),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    revision: num(row.revision),
  };
}
