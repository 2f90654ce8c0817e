import { defineSchema, migrate } from '../../core/migrations.js';
import type { SqlClient, SqlExecutor, SqlValue } from '../../ports/sql.js';

/*
 * The online learner's durable state (migration store `online-learning`), any SqlClient:
 * - ferry_online_learners: per model, the learner's checkpoint (weights and AdaGrad sums, the
 *   artifact JSON) and its meta (the progressive window, counters, snapshot and guardrail state);
 * - ferry_online_events: every event id learned (the dedupe set), written in the SAME transaction
 *   as the checkpoint that contains it, so an id is in the table exactly when its label is in the
 *   stored weights. Its primary key refuses a second insert of an id: a label learned twice would
 *   fail the checkpoint instead of passing silently;
 * - ferry_online_decisions: every guardrail decision with its figures (`ferry learn status`).
 */
export const ONLINE_LEARNING_MIGRATIONS = defineSchema('online-learning', [
  {
    version: 1,
    description: 'online learners: checkpoints, learned event ids, guardrail decisions',
    statements: [
      `CREATE TABLE IF NOT EXISTS ferry_online_learners (
        model TEXT NOT NULL,
        stream TEXT NOT NULL,
        state TEXT NOT NULL,
        meta TEXT NOT NULL,
        labels BIGINT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (model)
      )`,
      `CREATE TABLE IF NOT EXISTS ferry_online_events (
        model TEXT NOT NULL,
        event_id TEXT NOT NULL,
        sequence BIGINT NOT NULL,
        learned_at TEXT NOT NULL,
        PRIMARY KEY (model, event_id)
      )`,
      `CREATE TABLE IF NOT EXISTS ferry_online_decisions (
        model TEXT NOT NULL,
        seq BIGINT NOT NULL,
        at TEXT NOT NULL,
        action TEXT NOT NULL,
        version BIGINT NULL,
        detail TEXT NOT NULL,
        PRIMARY KEY (model, seq)
      )`,
    ],
  },
]);

export interface StoredLearner {
  readonly stream: string;
  /** The OnlineTextClassifier checkpoint (artifact JSON with AdaGrad's sums). */
  readonly state: string;
  readonly meta: string;
  readonly labels: number;
  readonly updatedAt: string;
}

export interface LearnedEvent {
  readonly id: string;
  readonly sequence: number;
}

export interface Decision {
  readonly at: string;
  readonly action: string;
  readonly version: number | null;
  readonly detail: Record<string, unknown>;
}

/** Rows per INSERT: 4 parameters each, well under SQLite's and PostgreSQL's limits. */
const INSERT_CHUNK = 500;
const LOOKUP_CHUNK = 500;

export class CheckpointStore {
  constructor(private readonly sql: SqlClient) {}

  async init(): Promise<void> {
    await migrate(this.sql, ONLINE_LEARNING_MIGRATIONS);
  }

  async load(model: string): Promise<StoredLearner | undefined> {
    const [row] = await this.sql.query<{
      stream: string;
      state: string;
      meta: string;
      labels: unknown;
      updated_at: string;
    }>('SELECT stream, state, meta, labels, updated_at FROM ferry_online_learners WHERE model = $1', [model]);
    if (row === undefined) return undefined;
    return {
      stream: row.stream,
      state: row.state,
      meta: row.meta,
      labels: Number(row.labels),
      updatedAt: row.updated_at,
    };
  }

  /** The ids among `ids` already learned (committed) for `model`. */
  async learned(model: string, ids: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
      const chunk = ids.slice(i, i + LOOKUP_CHUNK);
      const marks = chunk.map((_, k) => `$${k + 2}`).join(', ');
      const rows = await this.sql.query<{ event_id: string }>(
        `SELECT event_id FROM ferry_online_events WHERE model = $1 AND event_id IN (${marks})`,
        [model, ...chunk],
      );
      for (const r of rows) out.add(r.event_id);
    }
    return out;
  }

  async learnedCount(model: string): Promise<number> {
    const [row] = await this.sql.query<{ n: unknown }>(
      'SELECT COUNT(*) AS n FROM ferry_online_events WHERE model = $1',
      [model],
    );
    return Number(row?.n ?? 0);
  }

  /** The checkpoint and the ids it contains, in one transaction. */
  async commit(
    model: string,
    learner: Omit<StoredLearner, 'updatedAt'>,
    events: readonly LearnedEvent[],
  ): Promise<void> {
    const at = new Date().toISOString();
    await this.sql.transaction(
      async (tx) => {
        await upsertLearner(tx, model, learner, at);
        for (let i = 0; i < events.length; i += INSERT_CHUNK) {
          const chunk = events.slice(i, i + INSERT_CHUNK);
          const params: SqlValue[] = [];
          const rows = chunk.map((e, k) => {
            params.push(model, e.id, e.sequence, at);
            return `($${4 * k + 1}, $${4 * k + 2}, $${4 * k + 3}, $${4 * k + 4})`;
          });
          await tx.execute(
            `INSERT INTO ferry_online_events (model, event_id, sequence, learned_at) VALUES ${rows.join(', ')}`,
            params,
          );
        }
      },
      { lockKey: `online-learner:${model}` },
    );
  }

  /** Replaces the meta only (after a snapshot or a decision). */
  async saveMeta(model: string, meta: string): Promise<void> {
    await this.sql.execute('UPDATE ferry_online_learners SET meta = $2 WHERE model = $1', [model, meta]);
  }

  async addDecision(model: string, d: Decision): Promise<void> {
    await this.sql.transaction(
      async (tx) => {
        const [row] = await tx.query<{ s: unknown }>(
          'SELECT MAX(seq) AS s FROM ferry_online_decisions WHERE model = $1',
          [model],
        );
        const seq = (row?.s === null || row?.s === undefined ? 0 : Number(row.s)) + 1;
        await tx.execute(
          'INSERT INTO ferry_online_decisions (model, seq, at, action, version, detail) VALUES ($1, $2, $3, $4, $5, $6)',
          [model, seq, d.at, d.action, d.version, JSON.stringify(d.detail)],
        );
      },
      { lockKey: `online-learner:${model}` },
    );
  }

  /** The newest decisions first. */
  async decisions(model: string, limit: number): Promise<Decision[]> {
    const rows = await this.sql.query<{ at: string; action: string; version: unknown; detail: string }>(
      'SELECT at, action, version, detail FROM ferry_online_decisions WHERE model = $1 ORDER BY seq DESC LIMIT $2',
      [model, limit],
    );
    return rows.map((r) => ({
      at: r.at,
      action: r.action,
      version: r.version === null ? null : Number(r.version),
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }
}

async function upsertLearner(
  tx: SqlExecutor,
  model: string,
  l: Omit<StoredLearner, 'updatedAt'>,
  at: string,
): Promise<void> {
  await tx.execute(
    `INSERT INTO ferry_online_learners (model, stream, state, meta, labels, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (model) DO UPDATE SET stream = EXCLUDED.stream, state = EXCLUDED.state,
       meta = EXCLUDED.meta, labels = EXCLUDED.labels, updated_at = EXCLUDED.updated_at`,
    [model, l.stream, l.state, l.meta, l.labels, at],
  );
}
