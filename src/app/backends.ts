/**
 * The adapters the CLI reaches for directly, through the wiring (cli/ never imports adapters/):
 * the SQL client of a URL (`ferry db`, a batch job's SQL input), the SQLite file behind a URL
 * (output paths must not overwrite it), the BullMQ queue of distributed batch jobs, and the
 * cluster-wide /metrics of `ferry serve --workers N`.
 */
export { BullmqJobQueue } from '../adapters/bullmq/bullmq-job-queue.js';
export {
  clusterMetricsFromPrimary,
  joinClusterMetrics,
  serveClusterMetrics,
} from '../adapters/cluster-metrics.js';
export { openSqlClient, sqliteFileOf } from '../adapters/factory.js';
