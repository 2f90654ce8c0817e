/**
 * The adapters the CLI reaches for directly, through the wiring (cli/ never imports adapters/):
 * the SQL client of a URL (`ferry db`, a batch job's SQL input), the SQLite file behind a URL
 * (output paths must not overwrite it) and the BullMQ queue of distributed batch jobs. The
 * cluster-wide /metrics of `ferry serve --workers N` are in cluster-metrics.ts, so that the many
 * commands importing this do not load prom-client.
 */
export { BullmqJobQueue } from '../adapters/bullmq/bullmq-job-queue.js';
export { openSqlClient, sqliteFileOf } from '../adapters/factory.js';
