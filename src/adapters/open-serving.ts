import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { PredictionStore } from '../batch/prediction-store.js';
import type { FerryConfig } from '../core/config.js';
import { CanaryRunner } from '../experiments/canary/canary-runner.js';
import { ExperimentRouter } from '../experiments/experiment-router.js';
import { ExperimentService } from '../experiments/experiment-service.js';
import { ExperimentStatsStore } from '../experiments/experiment-stats-store.js';
import { ExperimentStore } from '../experiments/experiment-store.js';
import { newReplicaId, ShadowRunner } from '../experiments/shadow/shadow-runner.js';
import type { Model } from '../model/model.js';
import type { ExperimentRoute } from '../ports/experiment-routing.js';
import type { KeyValueStore } from '../ports/key-value-store.js';
import type { PredictionLogSink } from '../ports/prediction-log-sink.js';
import { loadModel } from '../registry/load-model.js';
import { buildServer } from '../serving/http/build-server.js';
import { ServingMetrics } from '../serving/metrics.js';
import { ModelHost } from '../serving/model-host.js';
import { PredictionCache } from '../serving/prediction-cache.js';
import { PredictionLogger } from '../serving/prediction-log/prediction-logger.js';
import { SqlPredictionLog } from '../serving/prediction-log/sql-prediction-log.js';
import { PredictionService, type ServedPredictionObserver } from '../serving/prediction-service.js';
import type { ServingConfig } from '../serving/serving-config.js';
import { VersionAccess } from '../serving/version-access.js';
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
   * router the prediction service asks; the shadow and canary runners are prediction observers
   * that follow the router's running experiments.
   */
  experiments: {
    store: ExperimentStore;
    service: ExperimentService;
    router: ExperimentRouter;
    /** Per-replica shadow and canary counters. */
    stats: ExperimentStatsStore;
    /** This process's id in those counters' rows (random per start). */
    replica: string;
    shadow: ShadowRunner;
    canary: CanaryRunner;
  };
  /** Graceful: stop accepting, finish in-flight requests, drain batchers, flush the log, close backends. */
  close(): Promise<void>;
}

export interface OpenServingOptions {
  logger?: FastifyServerOptions['logger'];
  /**
   * Replaces each loaded model (tests only: a deliberately faulty or slow version for canary and
   * shadow tests). Called once per version load, warm-up included.
   */
  wrapModel?: (name: string, version: number, model: Model) => Model;
}

/** Wires config to backends and builds the (not yet listening) model server. */
export async function openServing(
  config: FerryConfig,
  sc: ServingConfig,
  opts: OpenServingOptions = {},
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
        // The cache is an optimisation: a server whose Redis is down starts and serves uncached
        // (lookups count as errors) while the client reconnects in the background.
        failFastAtInit: false,
      });
      await kv.init();
      const store = kv;
      closers.push(() => store.close());
    }
    const cache = kv
      ? new PredictionCache({
          store: kv,
          ttlMs: sc.cacheTtlMs,
          onWriteError: (_error, entries) => metrics.cacheWriteFailures.inc(entries),
        })
      : undefined;

    let sink: PredictionLogSink | undefined;
    if (sc.predictionLog === 'sql') {
      sink = new SqlPredictionLog(ferry.sql, {
        onRejected: (record, err) => {
          metrics.logRejected.inc();
          app?.log.warn(
            { err, requestId: record.requestId },
            'prediction log record refused by the database',
          );
        },
      });
    } else if (sc.predictionLog.startsWith('jsonl:'))
      sink = new JsonlPredictionLog(sc.predictionLog.slice('jsonl:'.length));
    let logger: PredictionLogger | undefined;
    if (sink) {
      await sink.init();
      logger = new PredictionLogger(sink, {
        sampleRate: sc.predictionLogSampleRate,
        maxBuffered: 100_000,
        flushIntervalMs: 250,
        flushSize: 1000,
        maxBytesPerRequest: sc.predictionLogMaxBytesPerRequest,
        onTruncated: () => metrics.logTruncated.inc(),
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

    const wrapModel = opts.wrapModel;
    const host = new ModelHost(
      {
        aliases: (name) => ferry.registry.aliases(name),
        load: async (ref) => {
          const loaded = await loadModel(ferry.registry, ref);
          if (wrapModel === undefined) return loaded;
          return { ...loaded, model: wrapModel(loaded.version.name, loaded.version.version, loaded.model) };
        },
        artifactSize: async (name, version) =>
          (await ferry.registry.resolve(`${name}/${version}`)).artifactSize,
      },
      {
        models: sc.models,
        aliases: sc.aliases,
        batcher: sc.batcher,
        pollMs: sc.aliasPollMs,
        maxOnDemand: 4,
        onDemand: sc.onDemand,
        warmupInputs: EXAMPLE_PROJECTS,
        onBatch: ({ name, version }, stats) => {
          const labels = { model: name, version: String(version) };
          metrics.batchSize.observe(labels, stats.size);
          metrics.queueSeconds.observe(labels, stats.queueMs / 1000);
          metrics.computeSeconds.observe(labels, stats.computeMs / 1000);
        },
        // A version an alias moved to that cannot be loaded: the old one keeps serving, the failure
        // is logged and counted, and the load is retried with backoff (not on every poll).
        onError: (error, context) => {
          metrics.modelRefreshErrors.inc({ model: context.model ?? '', stage: context.what });
          app?.log.error({ err: error, ...context }, 'model refresh failed');
        },
        onEvict: ({ name }) => metrics.onDemandEvictions.inc({ model: name }),
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
      warm: (model, version) =>
        sc.models.includes(model) ? host.version(model, version) : Promise.resolve(),
    });
    // Arms on explicit versions are loaded and warmed off the request path: a routing experiment's
    // by the router before it routes to them (`warm`), a shadow's candidate here, in the background.
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
    const statsStore = new ExperimentStatsStore({ sql: ferry.sql });
    await statsStore.init();
    const warn = (error: unknown, context: string) => app?.log.warn({ err: error }, context);
    const experimentService = new ExperimentService({
      store: experimentStore,
      registry: ferry.registry,
      stats: statsStore,
      onChange: () => router.refresh(),
      onPromoted: () => host.refresh(),
      onError: warn,
      maxEvents: sc.limits.maxItems,
    });
    const replica = newReplicaId();
    const canaryRunner = new CanaryRunner({
      stats: statsStore,
      evaluate: (name) => experimentService.canary.evaluate(name),
      replica,
      evaluateEveryMs: sc.canaryEvaluateMs,
      onError: warn,
    });
    const shadowRunner = new ShadowRunner({
      stats: statsStore,
      replica,
      models: sc.models,
      flushEveryMs: sc.shadowFlushMs,
      // The candidate's model's own (asynchronous) predict, outside production's batcher and cache.
      candidate: async (model, version, items) => (await host.version(model, version)).model.predict(items),
      currentAlias: (model, alias) =>
        sc.aliases.includes(alias) ? host.current(model, alias)?.version : undefined,
      resolveAlias: async (model, alias) => (await ferry.registry.aliases(model))[alias],
      onError: warn,
    });
    // The runners observe predictions only while they have a canary or a shadow to watch, so that a
    // server without one pays nothing per request.
    const observed = new Map<ServedPredictionObserver, () => void>();
    const observe = (runner: ServedPredictionObserver & { readonly active: boolean }) => {
      const remove = observed.get(runner);
      if (runner.active && remove === undefined) observed.set(runner, service.addObserver(runner));
      if (!runner.active && remove !== undefined) {
        remove();
        observed.delete(runner);
      }
    };
    router.subscribe((experiments) => {
      canaryRunner.sync(experiments);
      shadowRunner.sync(experiments);
      observe(canaryRunner);
      observe(shadowRunner);
    });
    let cacheFailing = false;
    const routedChildren = new WeakMap<ExperimentRoute, { inc(): void }>();
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
        onCache: (result, count) => {
          metrics.cacheLookups.inc({ result }, count);
          // Logged on the transitions only: an outage fails every lookup, and the counter has the rate.
          if (result === 'error' && !cacheFailing) {
            cacheFailing = true;
            app?.log.warn('prediction cache lookups are failing; serving uncached until the cache is back');
          } else if (result !== 'error' && cacheFailing) {
            cacheFailing = false;
            app?.log.info('prediction cache lookups work again');
          }
        },
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
        versionAccess: new VersionAccess({
          allowlist: sc.serveVersions,
          aliases: (name) => ferry.registry.aliases(name),
          experiments: (model) => router.experiments(model),
        }),
        serverName: 'ferry',
        serverVersion: process.env.npm_package_version ?? '0.1.0',
        predictionStore,
        storedPredictions: { maxAgeMs: sc.storedMaxAgeMs, policy: sc.storedPolicy },
        experiments: {
          service: experimentService,
          flush: async (name) => {
            await router.flushExposures();
            await Promise.all([canaryRunner.flush(name), shadowRunner.flush(name)]);
          },
        },
        eventsToken: sc.eventsToken,
        predictionsToken: sc.predictionsToken,
        corsOrigins: sc.corsOrigins,
      },
      opts,
    );
    const server = app;
    // Closed in reverse: the server stops accepting, then the batchers drain, then exposures are
    // written, then the shadow mirrors stop and the shadow and canary counters are written.
    closers.push(() => canaryRunner.stop());
    closers.push(() => shadowRunner.stop());
    closers.push(() => router.stop());
    closers.push(() => host.stop());
    closers.push(() => server.close());
    await host.start();
    await router.start();
    canaryRunner.start();
    shadowRunner.start();
    return {
      app: server,
      host,
      service,
      metrics,
      cache,
      logger,
      predictionStore,
      experiments: {
        store: experimentStore,
        service: experimentService,
        router,
        stats: statsStore,
        replica,
        shadow: shadowRunner,
        canary: canaryRunner,
      },
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
