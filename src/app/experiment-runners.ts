import { CanaryRunner } from '../experiments/canary/canary-runner.js';
import type { ExperimentEventHandlers } from '../experiments/experiment-events.js';
import { ExperimentRouter } from '../experiments/experiment-router.js';
import { ExperimentService } from '../experiments/experiment-service.js';
import { ExperimentStatsStore } from '../experiments/experiment-stats-store.js';
import { ExperimentStore } from '../experiments/experiment-store.js';
import type { Exposure } from '../experiments/experiment-types.js';
import { newReplicaId, ShadowRunner } from '../experiments/shadow/shadow-runner.js';
import { isTextModel, type Model } from '../model/model.js';
import { inferRows } from '../model/rows.js';
import type { NamedTensors } from '../model/tensor.js';
import { predictionRows, textInputsOf } from '../model/text-tensors.js';
import type { ServingMetrics } from '../serving/metrics.js';
import type { ModelHost } from '../serving/model-host.js';
import type { PredictionService, ServedPredictionObserver } from '../serving/prediction-service.js';
import type { ServingConfig } from '../serving/serving-config.js';
import type { FerryContext } from './open-ferry.js';

/**
 * Experiments in the registry's database: the store, the use cases (/v1/experiments) and the
 * router the prediction service asks; the shadow and canary runners are prediction observers
 * that follow the router's running experiments.
 */
export interface ServingExperiments {
  store: ExperimentStore;
  service: ExperimentService;
  router: ExperimentRouter;
  /** Per-replica shadow and canary counters. */
  stats: ExperimentStatsStore;
  /** This process's id in those counters' rows (random per start). */
  replica: string;
  shadow: ShadowRunner;
  canary: CanaryRunner;
}

/** The SQLite writer thread, started by the first call; undefined when it could not start. */
type ExposureThread = () => Promise<{ writeExposures(chunk: Exposure[]): Promise<void> } | undefined>;

/** Where the experiment runners report what goes wrong (the server's log, once it exists). */
export interface ExperimentLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/**
 * Opens the experiment stores (their schema is migrated here) and builds the router, the use cases
 * and the runners; nothing runs until `startExperiments`.
 */
export async function openExperiments(deps: {
  ferry: FerryContext;
  sc: ServingConfig;
  metrics: ServingMetrics;
  host: ModelHost;
  log: ExperimentLog;
  /**
   * The SQLite writer thread, started on first use: exposures are upserted there, or on this thread
   * when it could not start.
   */
  exposureThread?: ExposureThread;
}): Promise<ServingExperiments> {
  const { ferry, sc, metrics, host, log } = deps;
  const store = new ExperimentStore({ sql: ferry.sql });
  await store.init();
  const router = new ExperimentRouter({
    store,
    refreshMs: sc.experimentPollMs,
    followedAliases: sc.aliases,
    aliases: (name) => ferry.registry.aliases(name),
    onExposuresDropped: (count, reason) => metrics.experimentExposuresDropped.inc({ reason }, count),
    onError: (error, context) => log.warn({ err: error }, context),
    warm: (model, version) => (sc.models.includes(model) ? host.version(model, version) : Promise.resolve()),
    ...(deps.exposureThread ? { writeExposures: exposureWriter(deps.exposureThread, store) } : {}),
  });
  // Arms on explicit versions are loaded and warmed off the request path: a routing experiment's
  // by the router before it routes to them (`warm`), a shadow's candidate here, in the background.
  router.subscribe((experiments) => {
    for (const e of experiments) {
      if (e.status !== 'running' || !sc.models.includes(e.model)) continue;
      for (const arm of e.arms) {
        if (arm.version !== undefined) {
          void host.version(e.model, arm.version).catch((err: unknown) => {
            log.warn({ err, experiment: e.name, arm: arm.name }, 'experiment arm failed to load');
          });
        }
      }
    }
  });
  const stats = new ExperimentStatsStore({ sql: ferry.sql });
  await stats.init();
  const warn = (error: unknown, context: string) => log.warn({ err: error }, context);
  // Every status change and canary decision is one log line with its fields (who, why).
  const events: ExperimentEventHandlers = {
    onStatusChange: (c) =>
      log.info(
        { event: 'experiment_status', ...c },
        `experiment ${c.experiment}: ${c.from ?? 'new'} -> ${c.to} (${c.action}${c.by ? ` by ${c.by}` : ''})`,
      ),
    onCanaryDecision: (d) =>
      log.info(
        { event: 'canary_decision', ...d },
        `canary ${d.experiment}: ${d.action}, canary weight ${d.weight} (${d.reason})`,
      ),
  };
  const service = new ExperimentService({
    events,
    store,
    registry: ferry.registry,
    stats,
    onChange: () => router.refresh(),
    onPromoted: () => host.refresh(),
    onError: warn,
    maxEvents: sc.limits.maxItems,
  });
  const replica = newReplicaId();
  const canary = new CanaryRunner({
    stats,
    evaluate: (name) => service.canary.evaluate(name),
    replica,
    evaluateEveryMs: sc.canaryEvaluateMs,
    onError: warn,
  });
  const shadow = new ShadowRunner({
    stats,
    replica,
    models: sc.models,
    flushEveryMs: sc.shadowFlushMs,
    // The candidate's model's own (asynchronous) predict, outside production's batcher and cache.
    candidate: async (model, version, items) =>
      candidateAnswers((await host.version(model, version)).model, items),
    currentAlias: (model, alias) =>
      sc.aliases.includes(alias) ? host.current(model, alias)?.version : undefined,
    resolveAlias: async (model, alias) => (await ferry.registry.aliases(model))[alias],
    onError: warn,
  });
  return { store, service, router, stats, replica, shadow, canary };
}

/**
 * The runners observe `service`'s predictions only while they have a canary or a shadow to watch,
 * so that a server without one pays nothing per request. Called once the service exists, before
 * the router's first refresh (which tells the runners what runs).
 */
export function observeWhileActive(experiments: ServingExperiments, service: PredictionService): void {
  const { router, canary, shadow } = experiments;
  const observed = new Map<ServedPredictionObserver, () => void>();
  const observe = (runner: ServedPredictionObserver & { readonly active: boolean }) => {
    const remove = observed.get(runner);
    if (runner.active && remove === undefined) observed.set(runner, service.addObserver(runner));
    if (!runner.active && remove !== undefined) {
      remove();
      observed.delete(runner);
    }
  };
  router.subscribe((running) => {
    canary.sync(running);
    shadow.sync(running);
    observe(canary);
    observe(shadow);
  });
}

/** Upserts a chunk in the writer thread (started by the first chunk), else through `store`. */
function exposureWriter(
  thread: ExposureThread,
  store: ExperimentStore,
): (chunk: Exposure[]) => Promise<void> {
  return async (chunk) => {
    const writer = await thread();
    return writer ? writer.writeExposures(chunk) : store.upsertExposures(chunk);
  };
}

/** Writes what this process routed and counted for `name` (before an analysis is read). */
export async function flushExperiment(experiments: ServingExperiments, name: string): Promise<void> {
  await experiments.router.flushExposures();
  await Promise.all([experiments.canary.flush(name), experiments.shadow.flush(name)]);
}

/**
 * The shadow's answers, outside production's batcher and cache: a text model through its own
 * asynchronous predict (it yields to production's requests), any other kind through inferRows.
 */
async function candidateAnswers(model: Model, items: readonly NamedTensors[]): Promise<NamedTensors[]> {
  if (!isTextModel(model)) return inferRows(model, items);
  const inputs = items.flatMap((row) => textInputsOf(row));
  return predictionRows(model.classes, await model.predict(inputs));
}
