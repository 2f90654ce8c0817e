import type { FastifyInstance } from 'fastify';
import { batchJobReader } from '../batch/job/batch-status.js';
import type { FerryConfig } from '../core/config.js';
import { type LoggerOption, toLogger } from '../core/logger.js';
import { FERRY_VERSION } from '../core/version.js';
import type { Model } from '../model/model.js';
import type { ExperimentRoute } from '../ports/experiment-routing.js';
import { kindContextOf, loadModel } from '../registry/load-model.js';
import { buildServer } from '../serving/http/build-server.js';
import { UI_ROOT } from '../serving/http/routes/ui-routes.js';
import { ServingMetrics } from '../serving/metrics.js';
import { ModelHost } from '../serving/model-host.js';
import { PredictionService } from '../serving/prediction-service.js';
import type { ServingConfig } from '../serving/serving-config.js';
import { ShedBursts } from '../serving/shed-bursts.js';
import { StoredPredictionService } from '../serving/stored-prediction-service.js';
import { VersionAccess } from '../serving/version-access.js';
import { EXAMPLE_PROJECTS } from '../serving/warmup-inputs.js';
import {
  flushExperiment,
  observeWhileActive,
  openExperiments,
  type ServingExperiments,
} from './experiment-runners.js';
import { Closers } from './lifecycle.js';
import { openFeedback } from './open-feedback.js';
import { openFerry } from './open-ferry.js';
import { type MonitorRunSettings, openMonitor } from './open-monitor-run.js';
import { servingMonitoring } from './open-monitoring.js';
import { openServingFeatures, servingFeatureStatus, servingStreams } from './serving-features.js';
import { openServingStores, type ServingStores } from './serving-stores.js';

export interface ServingRuntime {
  app: FastifyInstance;
  host: ModelHost;
  service: PredictionService;
  metrics: ServingMetrics;
  cache: ServingStores['cache'];
  logger: ServingStores['logger'];
  predictionStore: ServingStores['predictionStore'];
  experiments: ServingExperiments;
  /**
   * Graceful: stop accepting, finish in-flight requests, drain batchers, flush the log, close
   * backends; once, in reverse order of opening, every failure reported (see Closers).
   */
  close(): Promise<void>;
}

export interface OpenServingOptions {
  /** The process logger (see core/logger.ts); none: nothing is logged. */
  logger?: LoggerOption;
  /**
   * Replaces each loaded model (tests only: a deliberately faulty or slow version for canary and
   * shadow tests). Called once per version load, warm-up included.
   */
  wrapModel?: (name: string, version: number, model: Model) => Model;
  /**
   * `serve --monitor`: the monitor loop runs in this process with the server's lifecycle (started
   * after the models, stopped before the database closes), its gauges on the server's /metrics.
   */
  monitor?: MonitorRunSettings;
}

/**
 * Wires config to backends and builds the (not yet listening) model server: the registry's stores,
 * the serving stores, the model host, the experiments, the prediction service and the HTTP server,
 * then starts the host, the router and the runners. A failed start closes what was opened.
 */
export async function openServing(
  config: FerryConfig,
  sc: ServingConfig,
  opts: OpenServingOptions = {},
): Promise<ServingRuntime> {
  const log = toLogger(opts.logger);
  const closers = new Closers();
  const ferry = await openFerry(config);
  closers.add('database', () => ferry.close());
  // The server's log once it exists; what goes wrong before that is thrown, not logged.
  let app: FastifyInstance | undefined;
  const warn = (obj: object, msg: string) => app?.log.warn(obj, msg);
  try {
    const metrics = new ServingMetrics();
    const { predictionStore, cache, logger, logReader, sqliteWriter } = await openServingStores({
      ferry,
      sc,
      metrics,
      closers,
      warn,
    });
    const wrapModel = opts.wrapModel;
    const host = new ModelHost(
      {
        aliases: (name) => ferry.registry.aliases(name),
        load: async (ref) => {
          const loaded = await loadModel(ferry.registry, ref, kindContextOf(config));
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
        maxOnDemand: sc.onDemandMaxVersions,
        onDemand: sc.onDemand,
        warmupInputs: EXAMPLE_PROJECTS,
        onBatch: ({ name, version }, stats) => {
          const series = metrics.versionSeries(name, version);
          series.batchSize.observe(stats.size);
          series.queueSeconds.observe(stats.queueMs / 1000);
          series.computeSeconds.observe(stats.computeMs / 1000);
        },
        // A version an alias moved to that cannot be loaded: the old one keeps serving, the failure
        // is logged and counted, and the load is retried with backoff (not on every poll).
        onError: (error, context) => {
          metrics.modelRefreshErrors.inc({ model: context.model ?? '', stage: context.what });
          app?.log.error({ err: error, ...context }, 'model refresh failed');
        },
        // On-demand versions are listed in ferry_model_loaded too, under alias "on-demand".
        onDemandLoad: ({ name, version }) =>
          metrics.modelLoaded.set({ model: name, version: String(version), alias: 'on-demand' }, 1),
        onEvict: ({ name, version }) => {
          metrics.onDemandEvictions.inc({ model: name });
          metrics.modelLoaded.remove({ model: name, version: String(version), alias: 'on-demand' });
        },
        onSwap: ({ name, alias, from, to }) => {
          metrics.swaps.inc({ model: name, alias });
          if (from !== null) metrics.modelLoaded.remove({ model: name, version: String(from), alias });
          metrics.modelLoaded.set({ model: name, version: String(to), alias }, 1);
          // Why: the reason the registry recorded with the alias's move (swaps are rare: one read).
          const why =
            from === null
              ? Promise.resolve('loaded at start')
              : ferry.registry
                  .aliasHistory(name, alias)
                  .then((h) => h.find((m) => m.toVersion === to)?.reason ?? 'the alias moved')
                  .catch(() => 'the alias moved');
          void why.then((reason) =>
            log.info(
              { event: 'alias_swap', model: name, alias, from, to, reason },
              `${name}@${alias}: serving version ${to}${from === null ? '' : ` instead of ${from}`} (${reason})`,
            ),
          );
        },
      },
    );
    const experiments = await openExperiments({
      ferry,
      sc,
      metrics,
      host,
      log: { warn, info: (obj, msg) => log.info(obj, msg) },
      ...(sqliteWriter ? { exposureThread: sqliteWriter } : {}),
    });
    const shedBursts = new ShedBursts({
      report: (b) =>
        log.warn(
          { event: 'shed_burst', ...b },
          b.ended
            ? `shed ${b.count} requests of ${b.model} in ${b.durationMs} ms (queue full or deadline)`
            : `shedding requests of ${b.model}: ${b.count} so far in ${b.durationMs} ms`,
        ),
    });
    closers.add('shed bursts', async () => shedBursts.close());
    let cacheFailing = false;
    const routedChildren = new WeakMap<ExperimentRoute, { inc(): void }>();
    const service = new PredictionService({
      host,
      cache,
      logger,
      router: experiments.router,
      hooks: {
        onRouted: (decision) => {
          let child = routedChildren.get(decision);
          if (child === undefined) {
            child = metrics.experimentRouted.series({ experiment: decision.experiment, arm: decision.arm });
            routedChildren.set(decision, child);
          }
          child.inc();
        },
        onRouteFallback: (decision) =>
          metrics.experimentRouteFallbacks.inc({ experiment: decision.experiment }),
        onObserverError: () => metrics.observerErrors.inc(),
        onPredictions: (model, version, source, count, seconds) =>
          metrics.countPredictions(model, version, source, count, seconds),
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
        onShed: (model, reason) => {
          metrics.shed.inc({ model, reason });
          shedBursts.shed(model, reason);
        },
      },
    });
    observeWhileActive(experiments, service);
    const streams = servingStreams({ config, sc, closers });
    const features = {
      ...(await openServingFeatures({ ferry, sc, closers })),
      status: servingFeatureStatus({ ferry, streams }),
    };
    const feedback = await openFeedback({ ferry, sc, metrics, host, predictionStore, closers, warn });
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
          experiments: (model) => experiments.router.experiments(model),
        }),
        serverName: 'ferry',
        serverVersion: FERRY_VERSION,
        storedPredictions: new StoredPredictionService({
          store: predictionStore,
          predictions: service,
          settings: { maxAgeMs: sc.storedMaxAgeMs, policy: sc.storedPolicy },
        }),
        experiments: { service: experiments.service, flush: (name) => flushExperiment(experiments, name) },
        eventsToken: sc.eventsToken,
        eventsAnonymous: sc.eventsAnonymous,
        predictionsToken: sc.predictionsToken,
        features,
        streams,
        feedback,
        monitoring: await servingMonitoring({ ferry, sc, logReader, feedback: feedback.store }),
        // The jobs `ferry batch predict` wrote into this database (FERRY_DB, the registry's).
        batchJobs: batchJobReader(ferry.sql),
        corsOrigins: sc.corsOrigins,
        accessLogSample: sc.accessLogSample,
        ...(sc.ui ? { ui: { root: UI_ROOT } } : {}),
      },
      { logger: log },
    );
    const server = app;
    // Closed in reverse: the server stops accepting, then the batchers drain, then exposures are
    // written, then the shadow mirrors stop and the shadow and canary counters are written.
    closers.add('canary runner', () => experiments.canary.stop());
    closers.add('shadow runner', () => experiments.shadow.stop());
    closers.add('experiment router', () => experiments.router.stop());
    closers.add('model host', () => host.stop());
    closers.add('server', () => server.close());
    await host.start();
    await experiments.router.start();
    experiments.canary.start();
    experiments.shadow.start();
    if (opts.monitor !== undefined) {
      const monitor = await openMonitor({
        ferry,
        settings: opts.monitor,
        registry: metrics.registry,
        logger: log,
      });
      closers.add('monitor', () => monitor.close());
      monitor.loop.start();
    }
    return {
      app: server,
      host,
      service,
      metrics,
      cache,
      logger,
      predictionStore,
      experiments,
      close: () => closers.close(),
    };
  } catch (e) {
    // The start error is the one thrown; a failure to close what was opened is reported beside it.
    await closers.close().catch((closeError: unknown) => {
      process.emitWarning(`closing after a failed start failed too: ${String(closeError)}`);
    });
    throw e;
  }
}
