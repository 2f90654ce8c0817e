import { defineSchema } from '../core/migrations.js';

/**
 * Registry tables, in SQL that SQLite and PostgreSQL both accept. Every statement is idempotent,
 * so init() can run on every start. JSON lives in TEXT columns: neither engine's JSON type is
 * portable, and the registry never queries inside it. Event ids are UUIDs made in code because
 * the engines disagree on auto-increment syntax; `seq` orders a model's events.
 */
export const REGISTRY_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ferry_models (
    name TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS ferry_model_versions (
    name TEXT NOT NULL REFERENCES ferry_models (name),
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    artifact_sha256 TEXT NOT NULL,
    artifact_size BIGINT NOT NULL,
    params TEXT NOT NULL,
    metrics TEXT NOT NULL,
    dataset TEXT NOT NULL,
    tags TEXT NOT NULL,
    git_commit TEXT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (name, version)
  )`,
  `CREATE TABLE IF NOT EXISTS ferry_model_aliases (
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    version INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (name, alias),
    FOREIGN KEY (name, version) REFERENCES ferry_model_versions (name, version)
  )`,
  // No foreign keys: the audit trail outlives whatever it mentions.
  `CREATE TABLE IF NOT EXISTS ferry_alias_events (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    alias TEXT NOT NULL,
    seq INTEGER NOT NULL,
    from_version INTEGER NULL,
    to_version INTEGER NULL,
    at TEXT NOT NULL,
    reason TEXT NULL
  )`,
  `CREATE UNIQUE INDEX IF NOT EXISTS ferry_alias_events_by_seq ON ferry_alias_events (name, seq)`,
];

/** The store's versioned migrations (`src/core/migrations.ts`); 1 is the DDL of Ferry 0.1.0. */
export const REGISTRY_MIGRATIONS = defineSchema('registry', [
  { version: 1, description: 'tables of Ferry 0.1.0', statements: REGISTRY_SCHEMA },
  {
    version: 2,
    description:
      'model signatures: the OIP v2 tensors each version takes and gives (NULL for versions before it)',
    statements: ['ALTER TABLE ferry_model_versions ADD COLUMN signature TEXT NULL'],
  },
]);
