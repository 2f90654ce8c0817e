/**
 * The cluster-wide /metrics of `ferry serve --workers N`, for the CLI (cli/ never imports
 * adapters/): the primary serves every worker's registry joined, each worker answers its share.
 */
export {
  clusterMetricsFromPrimary,
  joinClusterMetrics,
  serveClusterMetrics,
} from '../adapters/cluster-metrics.js';
