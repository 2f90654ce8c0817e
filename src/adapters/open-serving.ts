import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { PredictionStore } from '../batch/prediction-store.js';
import type { FerryConfig } from '../core/config.js';
import { ExperimentRouter } from '../experiments/experiment-router.js';
import { ExperimentService } from '../experiments/experiment-service.js';
import { ExperimentStore } from '../experiments/experiment-store.js';
import type { RouteDecision } from '../experiments/experiment-types.js';
import type { KeyValueStore } from '../ports/key-value-store.js';
import type { PredictionLogSink } from '../ports/prediction-log-sink.js';
import { loadModel } from '../registry/load-model.js';
import { buildServer } from '../serving/http/build-server.js';
import { ServingMetrics } from '../serving/metrics.js';
import { ModelHost } from '../serving/model-host.js';
import { PredictionCache } from '../serving/prediction-cache.js';
import { PredictionLogger } from '../serving/prediction-log/prediction-logger.js';
import { SqlPredictionLog } from '../serving/prediction-log/sql-prediction-log.js';
import { PredictionService } from '../serving/prediction-service.js';
import type { ServingConfig } from '../serving/serving-config.js';
import { EXAMPLE_PROJECTS } from '../serving/warmup-inputs.js';
import { openKeyValueStore } from './factory.js';
import { JsonlPredictionLog } from './fs/jsonl-prediction-log.js';
import { openFerry } from './open-ferry.js';

export interface ServingRuntime {
  app: FastifyInstance;
  host: ModelHost;
  service: PredictionService;
  metrics: ServingMetrics;
  cache: PredictionCache | undefined;
  logger: PredictionLogger | undefined;
  /** The prediction store (batch predictions) in the registry's database, served under /v1/predictions. */
  predictionStore: PredictionStore;
  /**
   * Experiments in the registry's database: the store, the use cases (/v1/experiments) and the
   * router the prediction service asks. Shadow and canary code plugs in with
   * `service.addObserver(...)` and `experiments.router.subscribe(...)`.
   */
  experiments: { store: ExperimentStore; service: ExperimentService; router: ExperimentRouter };
  /** Graceful: stop accepting, finish in-flight requests, drain batchers, flush the log, close backends. */
  close(): Promise<void>;
}

/** Wires config to backends and builds the (not yet listening) model server. */
export async function openServing(
  config: FerryConfig,
  sc: ServingConfig,
  opts: { logger?: FastifyServerOptions['logger'] } = {},
): Promise<ServingRuntime> {
  const ferry = await openFerry(config);
  const closers: (() => Promise<void>)[] = [() => ferry.close()];
  const closeAll = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  let app: FastifyInstance | undefined;
  try {
    const metrics = new ServingMetrics();
    const predictionStore = new PredictionStore({ sql: ferry.sql });
    await predictionStore.init();
    let kv: KeyValueStore | undefined;
    if (sc.cache !== 'off') {
      kv = openKeyValueStore(sc.cache, {
        prefix: 'ferry:cache:',
        maxEntries: sc.cacheMaxEntries,
        maxBytes: sc.cacheMaxBytes,
        defaultTtlMs: sc.cacheTtlMs,
      });
      await kv.init();
      const store = kv;
      closers.push(() => store.close());
    }
    const cache = kv ? new PredictionCache({ store: kv, ttlMs: sc.cacheTtlMs }) : undefined;

    let sink: PredictionLogSink | undefined;
    if (sc.predictionLog === 'sql') sink = new SqlPredictionLog(ferry.sql);
    else if (sc.predictionLog.startsWith('jsonl:'))
      sink = new JsonlPredictionLog(sc.predictionLog.slice('jsonl:'.length));
    let logger: PredictionLogger | undefined;
    if (sink) {
      await sink.init();
      logger = new PredictionLogger(sink, {
        sampleRate: sc.predictionLogSampleRate,
        maxBuffered: 100_000,
        flushIntervalMs: 250,
        flushSize: 1000,
        onDrop: (n) => metrics.logDropped.inc(n),
      });
      logger.start();
      const l = logger;
      const s = sink;
      closers.push(async () => {
        await l.close();
        await s.close();
      });
    }

    const host = new ModelHost(
      { aliases: (name) => ferry.registry.aliases(name), load: (ref) => loadModel(ferry.registry, ref) },
      {
        models: sc.models,
        aliases: sc.aliases,
        batcher: sc.batcher,
        pollMs: sc.aliasPollMs,
        maxOnDemand: 4,
        warmupInputs: EXAMPLE_PROJECTS,
        onBatch: ({ name, version }, stats) => {
          const labels = { model: name, version: String(version) };
          metrics.batchSize.observe(labels, stats.size);
          metrics.queueSeconds.observe(labels, stats.queueMs / 1000);
          metrics.computeSeconds.observe(labels, stats.computeMs / 1000);
        },
        onSwap: ({ name, alias, from, to }) => {
          metrics.swaps.inc({ model: name, alias });
          if (from !== null) metrics.modelLoaded.remove({ model: name, version: String(from), alias });
          metrics.modelLoaded.set({ model: name, version: String(to), alias }, 1);
        },
      },
    );
    const experimentStore = new ExperimentStore({ sql: ferry.sql });
    await experimentStore.init();
    const router = new ExperimentRouter({
      store: experimentStore,
      refreshMs: sc.experimentPollMs,
      followedAliases: sc.aliases,
      aliases: (name) => ferry.registry.aliases(name),
      onExposuresDropped: (count, reason) => metrics.experimentExposuresDropped.inc({ reason }, count),
      onError: (error, context) => app?.log.warn({ err: error }, context),
    });
    // Arms on explicit versions are loaded and warmed before their first request, off the request path.
    router.subscribe((experiments) => {
      for (const e of experiments) {
        if (e.status !== 'running' || !sc.models.includes(e.model)) continue;
        for (const arm of e.arms) {
          if (arm.version !== undefined) {
            void host.version(e.model, arm.version).catch((err: unknown) => {
              app?.log.warn({ err, experiment: e.name, arm: arm.name }, 'experiment arm failed to load');
            });
          }
        }
      }
    });
    const experimentService = new ExperimentService({
      store: experimentStore,
      registry: ferry.registry,
      onChange: () => router.refresh(),
      maxEvents: sc.limits.maxItems,
    });
    const routedChildren = new WeakMap<RouteDecision, { inc(): void }>();
    const service = new PredictionService({
      host,
      cache,
      logger,
      router,
      hooks: {
        onRouted: (decision) => {
          let child = routedChildren.get(decision);
          if (child === undefined) {
            child = metrics.experimentRouted.labels({ experiment: decision.experiment, arm: decision.arm });
            routedChildren.set(decision, child);
          }
          child.inc();
        },
        onRouteFallback: (decision) =>
          metrics.experimentRouteFallbacks.inc({ experiment: decision.experiment }),
        onObserverError: () => metrics.observerErrors.inc(),
        onPredictions: (model, version, source, count, seconds) => {
          metrics.predictions.inc({ model, version: String(version), source }, count);
          if (source === 'model')
            metrics.predictSeconds.observe({ model, version: String(version) }, seconds);
        },
        onCache: (result, count) => metrics.cacheLookups.inc({ result }, count),
        onShed: (model, reason) => metrics.shed.inc({ model, reason }),
      },
    });
    app = await buildServer(
      {
        service,
        registry: ferry.registry,
        metrics,
        limits: sc.limits,
        adminToken: sc.adminToken,
        serverName: 'ferry',
        serverVersion: process.env.npm_package_version ?? '0.1.0',
        predictionStore,
        storedPredictions: { maxAgeMs: sc.storedMaxAgeMs, policy: sc.storedPolicy },
        experiments: { service: experimentService, router },
        eventsToken: sc.eventsToken,
      },
      opts,
    );
    const server = app;
    // Closed in reverse: the server stops accepting, then the batchers drain, then exposures are written.
    closers.push(() => router.stop());
    closers.push(() => host.stop());
    closers.push(() => server.close());
    await host.start();
    await router.start();
    return {
      app: server,
      host,
      service,
      metrics,
      cache,
      logger,
      predictionStore,
      experiments: { store: experimentStore, service: experimentService, router },
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
