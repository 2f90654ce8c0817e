import cluster, { type Worker } from 'node:cluster';
import { serveClusterMetrics } from '../../app/cluster-metrics.js';
import { ErrorCode, type ErrorCodeName, FerryError, isErrorCode } from '../../core/errors.js';
import type { ServingConfig } from '../../serving/serving-config.js';
import { WorkerRestarts } from '../../serving/worker-restarts.js';
import { reportError } from '../output.js';

/** What a worker whose start failed sends the primary before it exits 1. */
export interface WorkerStartFailure {
  type: 'ferry:worker-start-failed';
  code: ErrorCodeName;
  message: string;
  /** A restart cannot fix it (the port is taken, the configuration is invalid). */
  fatal: boolean;
}

function isStartFailure(m: unknown): m is WorkerStartFailure {
  return (
    typeof m === 'object' &&
    m !== null &&
    (m as { type?: unknown }).type === 'ferry:worker-start-failed' &&
    isErrorCode((m as { code?: unknown }).code)
  );
}

interface WorkerState {
  listeningSince?: number;
  failure?: WorkerStartFailure;
}

/**
 * The primary of `--workers N`: forks the workers (they share the port), answers /metrics for all
 * of them, forwards signals, restarts workers that exit with growing delays (WorkerRestarts), and
 * exits 1 with the workers' error when none can start.
 */
export function runPrimary(sc: ServingConfig): void {
  const restarts = new WorkerRestarts({ maxStartFailures: sc.workerStartAttempts });
  const states = new Map<Worker, WorkerState>();
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;
  let givingUp = false;

  const fork = () => {
    const worker = cluster.fork();
    states.set(worker, {});
  };
  const alive = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);

  serveClusterMetrics();
  cluster.on('message', (worker, message: unknown) => {
    if (isStartFailure(message)) {
      const state = states.get(worker);
      if (state) state.failure = message;
    }
  });
  cluster.on('listening', (worker) => {
    const state = states.get(worker);
    if (state && state.listeningSince === undefined) {
      state.listeningSince = performance.now();
      restarts.listening();
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    // Decide once the IPC channel is closed too, so that the worker's last message has been read.
    const decide = () => {
      const state = states.get(worker) ?? {};
      states.delete(worker);
      if (stopping) {
        if (alive().length === 0) process.exit(givingUp ? 1 : 0);
        return;
      }
      const listened = state.listeningSince !== undefined;
      const decision = restarts.exited({
        listened,
        listeningMs: listened ? performance.now() - state.listeningSince! : 0,
        fatal: state.failure?.fatal ?? false,
      });
      const why = state.failure
        ? `could not start (${state.failure.code}: ${state.failure.message})`
        : listened
          ? `exited (${signal ?? `code ${code}`})`
          : `could not start (exited with ${signal ?? `code ${code}`})`;
      if (decision.action === 'give-up') {
        giveUp(state.failure, decision.startFailures, code, signal);
        return;
      }
      process.stderr.write(
        `ferry: worker ${worker.process.pid} ${why}; next start in ${decision.delayMs} ms\n`,
      );
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!stopping) fork();
      }, decision.delayMs);
      timers.add(timer);
    };
    if (worker.isConnected()) worker.once('disconnect', decide);
    else decide();
  });

  /** Stops every worker and exits 1 with the last start error as the command's error. */
  const giveUp = (
    failure: WorkerStartFailure | undefined,
    failures: number,
    code: number | null,
    signal: string | null,
  ) => {
    const attempts = failure?.fatal ? '' : ` (${failures} failures in a row)`;
    const cause = failure?.message ?? `a worker exited with ${signal ?? `code ${code}`} before listening`;
    reportError(
      new FerryError(
        failure?.code ?? ErrorCode.SERVING_NO_WORKER,
        `no worker could start${attempts}: ${cause}`,
      ),
      false,
    );
    givingUp = true;
    stop('SIGKILL');
  };

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    const workers = alive();
    if (workers.length === 0) process.exit(givingUp ? 1 : 0);
    for (const w of workers) w.process.kill(signal);
    setTimeout(() => process.exit(1), sc.shutdownTimeoutMs + 1000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('uncaughtException', (e) => process.exit(reportError(e, false)));

  for (let i = 0; i < sc.workers; i++) fork();
}
