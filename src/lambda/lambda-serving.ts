import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { Closers } from '../app/lifecycle.js';
import { ErrorCode, FerryError } from '../core/errors.js';
import { type LoggerOption, toLogger } from '../core/logger.js';
import { FERRY_VERSION } from '../core/version.js';
import { openModel } from '../model/kinds/index.js';
import { buildServer } from '../serving/http/build-server.js';
import { ServingMetrics } from '../serving/metrics.js';
import { ModelHost } from '../serving/model-host.js';
import { PredictionLogger } from '../serving/prediction-log/prediction-logger.js';
import { PredictionService } from '../serving/prediction-service.js';
import { loadServingConfig, type ServingConfig } from '../serving/serving-config.js';
import { VersionAccess } from '../serving/version-access.js';
import { EXAMPLE_PROJECTS } from '../serving/warmup-inputs.js';
import { type BundledModel, type LambdaModelSource, loadBundledModel } from './bundled-model.js';
import { BundledRegistry } from './bundled-registry.js';
import { StdoutPredictionLog } from './stdout-prediction-log.js';

/** How a Lambda function serves its model (lambdaOptionsFromEnv reads them from the environment). */
export interface LambdaServingOptions {
  model: LambdaModelSource;
  /** `off` (default) or `stdout`: one JSON line per request, to CloudWatch Logs. */
  predictionLog?: 'off' | 'stdout';
  /** The serving settings (FERRY_ALIASES, limits, FERRY_ADMIN_TOKEN, …); default: from process.env. */
  serving?: ServingConfig;
  /** Where a kind may write (a custom model unpacks there); only /tmp is writable in Lambda. */
  cacheDir?: string;
  /** Longest call into a custom model or a remote server (ms); default 30000. */
  modelTimeoutMs?: number;
  logger?: LoggerOption;
}

export interface LambdaServing {
  /** The serving app of `ferry serve` (its routes, validation, errors), not listening. */
  app: FastifyInstance;
  /** What was loaded at init. */
  model: BundledModel['version'];
  close(): Promise<void>;
}

/** The folder of the handler file: the bundle's `model/` sits beside it. */
function handlerDir(): string {
  return dirname(fileURLToPath(import.meta.url));
}

/**
 * The options of a function from its environment:
 * - FERRY_LAMBDA_MODEL_URL + FERRY_LAMBDA_MODEL_SHA256 (required with a URL), FERRY_LAMBDA_MODEL_NAME
 *   (default tagifai), FERRY_LAMBDA_MODEL_KIND (default text-classifier), FERRY_LAMBDA_MODEL_VERSION;
 * - otherwise the bundled model in FERRY_LAMBDA_MODEL_DIR (default `model/` beside the handler, or in
 *   LAMBDA_TASK_ROOT when that is set);
 * - FERRY_LAMBDA_PREDICTION_LOG: off (default) or stdout;
 * - every serving setting `ferry serve` reads (FERRY_ALIASES, FERRY_BODY_LIMIT, FERRY_ADMIN_TOKEN, …).
 */
export function lambdaOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): LambdaServingOptions {
  const url = env.FERRY_LAMBDA_MODEL_URL;
  let model: LambdaModelSource;
  if (url !== undefined && url !== '') {
    const sha256 = env.FERRY_LAMBDA_MODEL_SHA256;
    if (sha256 === undefined || sha256 === '')
      throw new FerryError(
        ErrorCode.CONFIG_INVALID,
        'FERRY_LAMBDA_MODEL_URL needs FERRY_LAMBDA_MODEL_SHA256 (the artifact’s sha256): a downloaded model is only served once its checksum matches',
        { details: { setting: 'FERRY_LAMBDA_MODEL_SHA256' } },
      );
    const versionText = env.FERRY_LAMBDA_MODEL_VERSION ?? '1';
    if (!/^[1-9][0-9]{0,8}$/.test(versionText))
      throw new FerryError(ErrorCode.CONFIG_INVALID, 'FERRY_LAMBDA_MODEL_VERSION must be an integer ≥ 1', {
        details: { setting: 'FERRY_LAMBDA_MODEL_VERSION' },
      });
    model = {
      url,
      sha256,
      name: env.FERRY_LAMBDA_MODEL_NAME ?? 'tagifai',
      kind: env.FERRY_LAMBDA_MODEL_KIND ?? 'text-classifier',
      version: Number(versionText),
    };
  } else {
    const root = env.FERRY_LAMBDA_MODEL_DIR ?? join(env.LAMBDA_TASK_ROOT ?? handlerDir(), 'model');
    model = { dir: root };
  }
  const log = env.FERRY_LAMBDA_PREDICTION_LOG ?? 'off';
  if (log !== 'off' && log !== 'stdout')
    throw new FerryError(ErrorCode.CONFIG_INVALID, 'FERRY_LAMBDA_PREDICTION_LOG must be off or stdout', {
      details: { setting: 'FERRY_LAMBDA_PREDICTION_LOG' },
    });
  // FERRY_PREDICTION_LOG (sql by default) is the server's; in a function the log is FERRY_LAMBDA_PREDICTION_LOG.
  const { FERRY_PREDICTION_LOG: _unused, ...servingEnv } = env;
  const serving = loadServingConfig(servingEnv);
  // JSON lines on stdout, which Lambda sends to CloudWatch Logs: errors (5xx, a failed init) are
  // logged with their details there, never in the answer.
  return { model, predictionLog: log, serving, logger: { level: serving.logLevel } };
}

/**
 * The serving app of `ferry serve` over one model loaded at init, with no database: the routes,
 * the prediction service, the adaptive batcher and the metrics are the server's; the registry is
 * the one bundled version (src/lambda/bundled-registry.ts). What needs a database or a long-lived
 * process (experiments, stored predictions, features, feedback, monitoring) is not served.
 */
export async function openLambdaServing(opts: LambdaServingOptions): Promise<LambdaServing> {
  const sc = opts.serving ?? loadServingConfig(process.env);
  const log = toLogger(opts.logger);
  const closers = new Closers();
  try {
    const bundled = await loadBundledModel(opts.model);
    const { version } = bundled;
    const model = await openModel(version.kind, bundled.bytes, {
      cacheDir: opts.cacheDir ?? '/tmp/ferry/models',
      callTimeoutMs: opts.modelTimeoutMs ?? 30_000,
      signature: version.signature ?? undefined,
      sha256: version.artifactSha256,
    });
    // Until the host has it (it closes what it serves when it stops), the model is closed here.
    let hostOwnsModel = false;
    closers.add('model', async () => {
      if (!hostOwnsModel) await model.close?.();
    });
    const registry = new BundledRegistry(version, model, sc.aliases);
    const metrics = new ServingMetrics();
    const host = new ModelHost(registry, {
      models: [version.name],
      aliases: sc.aliases,
      batcher: sc.batcher,
      // Aliases never move inside a function: no poll (a timer would only run while an invocation does).
      pollMs: 0,
      maxOnDemand: 1,
      onDemand: sc.onDemand,
      warmupInputs: EXAMPLE_PROJECTS,
    });
    let logger: PredictionLogger | undefined;
    if (opts.predictionLog === 'stdout') {
      const sink = new StdoutPredictionLog();
      logger = new PredictionLogger(sink, {
        sampleRate: sc.predictionLogSampleRate,
        maxBuffered: sc.predictionLogMaxBuffered,
        flushIntervalMs: sc.predictionLogFlushMs,
        // Written as soon as recorded: a frozen container may never run the flush timer again.
        flushSize: 1,
        maxBytesPerRequest: sc.predictionLogMaxBytesPerRequest,
        onTruncated: () => metrics.logTruncated.inc(),
        onDrop: (n) => metrics.logDropped.inc(n),
      });
      logger.start();
      const l = logger;
      closers.add('prediction log', () => l.close());
    }
    const service = new PredictionService({
      host,
      logger,
      hooks: {
        onPredictions: (name, v, source, count, seconds) =>
          metrics.countPredictions(name, v, source, count, seconds),
        onShed: (name, reason) => metrics.shed.inc({ model: name, reason }),
      },
    });
    const app = await buildServer(
      {
        service,
        registry,
        metrics,
        limits: sc.limits,
        adminToken: sc.adminToken,
        versionAccess: new VersionAccess({
          allowlist: sc.serveVersions,
          aliases: (n) => registry.aliases(n),
        }),
        serverName: 'ferry',
        serverVersion: FERRY_VERSION,
        corsOrigins: sc.corsOrigins,
        accessLogSample: sc.accessLogSample,
      },
      { logger: log, docsUi: false },
    );
    closers.add('model host', () => host.stop());
    closers.add('server', () => app.close());
    hostOwnsModel = true;
    await host.start();
    await app.ready();
    return { app, model: version, close: () => closers.close() };
  } catch (e) {
    await closers.close().catch(() => {});
    throw e;
  }
}
