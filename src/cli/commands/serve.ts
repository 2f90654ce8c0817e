import cluster from 'node:cluster';
import type { Command } from 'commander';
import { openServing } from '../../adapters/open-serving.js';
import { loadConfig } from '../../core/config.js';
import { loadServingConfig, type ServingConfig } from '../../serving/serving-config.js';
import { reportError } from '../output.js';
import { validateOutputPath } from '../output-path.js';

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
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve models over HTTP: Made With ML API, Open Inference Protocol v2, /metrics, /docs')
    .option('--host <host>', 'address to listen on (default: $FERRY_HOST or 0.0.0.0)')
    .option('--port <port>', 'port (default: $PORT or 8000)')
    .option('--workers <n>', 'processes sharing the port, one per core (default 1)')
    .option('--models <names>', 'comma-separated model names to serve (default tagifai)')
    .option('--aliases <aliases>', 'aliases to follow, first is the default (default production)')
    .option(
      '--cache <url>',
      'prediction cache: memory:, redis://host:6379 or off (default: $FERRY_CACHE or memory:)',
    )
    .option('--prediction-log <sink>', 'sql, jsonl:<path> or off (default: $FERRY_PREDICTION_LOG or sql)')
    .option('--max-batch-size <n>', 'adaptive batching: items per batch (default 64)')
    .option('--max-queue-delay-ms <ms>', 'adaptive batching: wait for a batch to fill (default 0)')
    .option('--max-queue-size <n>', 'items queued before 503 + Retry-After (default 4096)')
    .action(async (flags: ServeFlags) => {
      const sc = loadServingConfig(process.env, { ...flags });
      if (sc.predictionLog.startsWith('jsonl:')) {
        await validateOutputPath(sc.predictionLog.slice('jsonl:'.length), {
          flag: '--prediction-log jsonl:',
        });
      }
      if (sc.workers > 1 && cluster.isPrimary) return runPrimary(sc);
      await runServer(sc);
    });
}

/** One process serving; exits 0 after a graceful drain on SIGTERM or SIGINT. */
export async function runServer(sc: ServingConfig): Promise<void> {
  const runtime = await openServing(loadConfig(), sc, {
    logger: { level: process.env.FERRY_LOG_LEVEL ?? 'info' },
  });
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
  const address = await runtime.app.listen({ host: sc.host, port: sc.port });
  log.info(
    { address, served: runtime.host.servedAliases(), pid: process.pid },
    'ferry serving; docs at /docs, metrics at /metrics',
  );
}

/** The primary of `--workers N`: forks the workers (they share the port), forwards signals, respawns crashes. */
function runPrimary(sc: ServingConfig): void {
  let stopping = false;
  const fork = () => cluster.fork({ FERRY_WORKER: '1' });
  for (let i = 0; i < sc.workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    process.stderr.write(
      `ferry: worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`,
    );
    fork();
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    setTimeout(() => process.exit(1), sc.shutdownTimeoutMs + 1000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('uncaughtException', (e) => process.exit(reportError(e, false)));
}
