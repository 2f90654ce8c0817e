import type { Command } from 'commander';
import { openSqlClient } from '../../app/backends.js';
import { BATCH_JOB_MIGRATIONS } from '../../batch/job/job-tables.js';
import { PREDICTION_STORE_MIGRATIONS } from '../../batch/prediction-store.js';
import { loadConfig } from '../../core/config.js';
import { migrate, type StoreSchema, schemaStatus } from '../../core/migrations.js';
import { EXPERIMENT_STATS_MIGRATIONS } from '../../experiments/experiment-stats-store.js';
import { EXPERIMENT_MIGRATIONS } from '../../experiments/experiment-store.js';
import { OFFLINE_STORE_MIGRATIONS } from '../../features/offline-store.js';
import { FEATURE_REPO_MIGRATIONS } from '../../features/repo-schema.js';
import { ONLINE_LEARNING_MIGRATIONS } from '../../learning/online/checkpoint-store.js';
import { RETRAIN_MIGRATIONS } from '../../learning/retrain/retrain-store.js';
import { MONITOR_ALERTS_MIGRATIONS } from '../../monitoring/alerts/alert-store.js';
import { FEEDBACK_MIGRATIONS } from '../../monitoring/feedback/feedback-store.js';
import { REFERENCE_PROFILE_MIGRATIONS } from '../../monitoring/profile/profile-store.js';
import type { SqlClient } from '../../ports/sql.js';
import { REGISTRY_MIGRATIONS } from '../../registry/schema.js';
import { PREDICTION_LOG_MIGRATIONS } from '../../serving/prediction-log/sql-prediction-log.js';
import { PIPELINE_STATE_MIGRATIONS } from '../../streams/pipeline-state-store.js';
import { printJson } from '../output.js';

/** Every store Ferry keeps in its database, in the order `ferry db migrate` upgrades them. */
export const ALL_STORE_SCHEMAS: readonly StoreSchema[] = [
  REGISTRY_MIGRATIONS,
  PREDICTION_LOG_MIGRATIONS,
  PREDICTION_STORE_MIGRATIONS,
  BATCH_JOB_MIGRATIONS,
  EXPERIMENT_MIGRATIONS,
  EXPERIMENT_STATS_MIGRATIONS,
  FEATURE_REPO_MIGRATIONS,
  OFFLINE_STORE_MIGRATIONS,
  PIPELINE_STATE_MIGRATIONS,
  FEEDBACK_MIGRATIONS,
  RETRAIN_MIGRATIONS,
  REFERENCE_PROFILE_MIGRATIONS,
  ONLINE_LEARNING_MIGRATIONS,
  MONITOR_ALERTS_MIGRATIONS,
];

async function withDatabase<T>(fn: (sql: SqlClient) => Promise<T>): Promise<T> {
  const sql = openSqlClient(loadConfig().db);
  try {
    await sql.init();
    return await fn(sql);
  } finally {
    await sql.close();
  }
}

export function registerDbCommand(program: Command): void {
  const db = program
    .command('db')
    .description('the database schema: versioned migrations of every store (also applied at start)');

  db.command('status')
    .description('each store: the version in the database, the newest this Ferry knows, what is pending')
    .option('--json', 'JSON output', false)
    .action((flags: { json: boolean }) =>
      withDatabase(async (sql) => {
        const status = await schemaStatus(sql, ALL_STORE_SCHEMAS);
        if (flags.json) return printJson(status);
        for (const s of status) {
          const state =
            s.current > s.latest
              ? 'NEWER THAN THIS FERRY'
              : s.pending.length
                ? `${s.pending.length} pending`
                : 'up to date';
          process.stdout.write(
            `${s.store.padEnd(18)} ${String(s.current).padStart(3)} / ${s.latest}  ${state}\n`,
          );
          for (const p of s.pending)
            process.stdout.write(`${''.padEnd(18)}   pending ${p.version}: ${p.description}\n`);
        }
      }),
    );

  db.command('migrate')
    .description('apply every pending migration (each store in one transaction, under a lock)')
    .option('--json', 'JSON output', false)
    .action((flags: { json: boolean }) =>
      withDatabase(async (sql) => {
        const applied: Record<string, number[]> = {};
        for (const schema of ALL_STORE_SCHEMAS) applied[schema.store] = await migrate(sql, schema);
        if (flags.json) return printJson({ applied });
        for (const [store, versions] of Object.entries(applied))
          process.stdout.write(
            `${store.padEnd(18)} ${versions.length ? `applied ${versions.join(', ')}` : 'up to date'}\n`,
          );
      }),
    );
}
