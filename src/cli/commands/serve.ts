import cluster from 'node:cluster';
import type { Command } from 'commander';
import { type MonitorRunSettings, monitorRunSettings } from '../../app/open-monitor-run.js';
import { loadConfig } from '../../core/config.js';
import { ErrorCode, FerryError, toFerryError } from '../../core/errors.js';
import { DEFAULT_MODEL_NAME } from '../../core/settings/catalogue.js';
import { loadServingConfig, type ServingConfig } from '../../serving/serving-config.js';
import { reportError, usageError } from '../output.js';
import { validateOutputPath } from '../output-path.js';
import { processLogger } from '../process-logger.js';
import type { WorkerStartFailure } from './serve-cluster.js';

interface ServeFlags {
  host?: string;
  port?: string;
  workers?: string;
  cache?: string;
  predictionLog?: string;
  maxBatchSize?: string;
  maxQueueDelayMs?: string;
  maxQueueSize?: string;
  models?: string;
  aliases?: string;
  accessLog?: boolean;
  /** false with --no-ui (commander's negated option); true otherwise. */
  ui: boolean;
  monitor?: boolean;
  monitorModel: string[];
  monitorRules?: string;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve models over HTTP: Made With ML API, Open Inference Protocol v2, /metrics, /docs')
    .option('--host <host>', 'address to listen on (default: $FERRY_HOST or 0.0.0.0)')
    .option('--port <port>', 'port (default: $PORT or 8000)')
    .option('--workers <n>', 'processes sharing the port, one per core (default 1)')
    .option('--models <names>', `comma-separated model names to serve (default ${DEFAULT_MODEL_NAME})`)
    .option('--aliases <aliases>', 'aliases to follow, first is the default (default production)')
    .option(
      '--cache <url>',
      'prediction cache: memory:, redis://host:6379 or off (default: $FERRY_CACHE or memory:)',
    )
    .option('--prediction-log <sink>', 'sql, jsonl:<path> or off (default: $FERRY_PREDICTION_LOG or sql)')
    .option('--max-batch-size <n>', 'adaptive batching: items per batch (default 64)')
    .option('--max-queue-delay-ms <ms>', 'adaptive batching: wait for a batch to fill (default 0)')
    .option('--max-queue-size <n>', 'items queued before 503 + Retry-After (default 4096)')
    .option('--access-log', 'log every request (default: $FERRY_ACCESS_LOG_SAMPLE of them, 0)')
    .option('--no-ui', 'do not serve the dashboard at /ui (default: $FERRY_UI, on)')
    .option('--monitor', 'run the monitor loop in the server (drift, detectors, alerts; gauges on /metrics)')
    .option(
      '--monitor-model <ref>',
      'with --monitor: a model to monitor, repeatable (default: each served model at the default alias)',
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .option('--monitor-rules <file>', 'with --monitor: alert rules (JSON) besides the defaults')
    .action(async (flags: ServeFlags) => {
      const { accessLog, ui, monitor, monitorModel, monitorRules, ...rest } = flags;
      const sc = loadServingConfig(process.env, {
        ...rest,
        accessLog: accessLog ? 'true' : undefined,
        // Only the negation is a flag: without it, FERRY_UI (default on) decides.
        ui: ui === false ? 'false' : undefined,
      });
      const monitorSettings = monitor ? serveMonitorSettings(sc, monitorModel, monitorRules) : undefined;
      if (sc.predictionLog.startsWith('jsonl:')) {
        await validateOutputPath(sc.predictionLog.slice('jsonl:'.length), {
          flag: '--prediction-log jsonl:',
        });
      }
      if (sc.workers > 1 && cluster.isPrimary) {
        const { runPrimary } = await import('./serve-cluster.js');
        return runPrimary(sc);
      }
      await serveOrExit(sc, monitorSettings);
    });
}

/**
 * The monitor of `serve --monitor`. One process only: each worker of `--workers N` would run its own
 * loop and fire every alert N times (`ferry monitor run` beside the cluster does it once).
 */
function serveMonitorSettings(
  sc: ServingConfig,
  models: readonly string[],
  rules: string | undefined,
): MonitorRunSettings {
  if (sc.workers > 1)
    throw usageError(
      '--monitor runs in a single process: with --workers, run `ferry monitor run` beside the server',
    );
  const defaults = sc.models.map((name) => `${name}@${sc.aliases[0] ?? 'production'}`);
  return monitorRunSettings(process.env, {
    models: models.length > 0 ? models : defaults,
    ...(rules !== undefined ? { rules } : {}),
  });
}

/** runServer, and a failed start ends the process (see exitAfterStartFailure): never a server that hangs. */
export async function serveOrExit(sc: ServingConfig, monitor?: MonitorRunSettings): Promise<void> {
  try {
    await runServer(sc, monitor);
  } catch (e) {
    exitAfterStartFailure(e);
  }
}

/**
 * One process serving; exits 0 after a graceful drain on SIGTERM or SIGINT. A start that fails
 * (models, database, the port) closes what was opened and rejects with a FerryError.
 */
async function runServer(sc: ServingConfig, monitor?: MonitorRunSettings): Promise<void> {
  // A worker answers the primary's metrics requests from the start, so that one still starting
  // does not stall every scrape; its registry joins once it exists.
  // Loaded here, not when the CLI starts: every command would pay for the HTTP stack (fastify,
  // swagger, static files, prom-client), about a sixth of the CLI's start-up.
  const { clusterMetricsFromPrimary, joinClusterMetrics } = await import('../../app/cluster-metrics.js');
  const clusterMetrics = cluster.isWorker ? joinClusterMetrics() : undefined;
  const { openServing } = await import('../../app/open-serving.js');
  const runtime = await openServing(loadConfig(), sc, {
    logger: processLogger(),
    ...(monitor !== undefined ? { monitor } : {}),
  });
  if (clusterMetrics) {
    clusterMetrics.setRegistry(runtime.metrics.registry);
    runtime.metrics.setScraper(clusterMetricsFromPrimary);
  }
  const log = runtime.app.log;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining: no new connections, finishing in-flight requests');
    const timer = setTimeout(() => {
      log.error({ timeoutMs: sc.shutdownTimeoutMs }, 'drain timed out; exiting');
      process.exit(1);
    }, sc.shutdownTimeoutMs);
    timer.unref();
    runtime
      .close()
      .then(() => {
        log.info('stopped cleanly');
        process.exit(0);
      })
      .catch((e: unknown) => {
        log.error({ err: e }, 'error while stopping');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  let address: string;
  try {
    address = await runtime.app.listen({ host: sc.host, port: sc.port });
  } catch (e) {
    // The listen error is the one reported to the operator; a failure to close is logged beside it.
    await runtime
      .close()
      .catch((closeError: unknown) => log.error({ err: closeError }, 'error while closing'));
    throw listenError(e, sc);
  }
  log.info(
    { address, served: runtime.host.servedAliases(), pid: process.pid },
    sc.ui
      ? 'ferry serving; dashboard at /ui, docs at /docs, metrics at /metrics'
      : 'ferry serving; docs at /docs, metrics at /metrics',
  );
}

/** Why the server could not listen, as a FerryError naming the address (for the operator, not clients). */
function listenError(e: unknown, sc: ServingConfig): FerryError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const where = `${sc.host}:${sc.port}`;
  if (code === 'EADDRINUSE') {
    return new FerryError(
      ErrorCode.SERVING_PORT_IN_USE,
      `${where} is in use by another process: stop it or choose another --port`,
      { details: { host: sc.host, port: sc.port }, cause: e },
    );
  }
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    const why = code === 'EACCES' ? 'permission denied' : 'no such local address';
    return new FerryError(ErrorCode.CONFIG_INVALID, `cannot listen on ${where}: ${why}`, {
      details: { host: sc.host, port: sc.port },
      cause: e,
    });
  }
  return toFerryError(e);
}

/**
 * Errors that restarting a worker cannot fix: the primary gives up at once instead of retrying.
 * (A database or Redis that is down, or an alias not yet set, may come back: those are retried.)
 */
const FATAL_START_ERRORS: ReadonlySet<string> = new Set([
  ErrorCode.SERVING_PORT_IN_USE,
  ErrorCode.CONFIG_INVALID,
  ErrorCode.CLI_USAGE,
]);

/**
 * A start failure ends the process, whatever handles are still open: a worker's IPC channel alone
 * would keep it alive, never listening. A worker tells the primary why (it reports and decides);
 * a lone server prints the error.
 */
function exitAfterStartFailure(e: unknown): void {
  const err = toFerryError(e);
  if (cluster.isWorker && process.send !== undefined) {
    const failure: WorkerStartFailure = {
      type: 'ferry:worker-start-failed',
      code: err.code,
      message: err.message,
      fatal: FATAL_START_ERRORS.has(err.code),
    };
    setTimeout(() => process.exit(1), 1000).unref(); // if the primary is gone
    process.send(failure, () => process.exit(1));
    return;
  }
  process.exit(reportError(err, false));
}
