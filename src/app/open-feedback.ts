import { PredictionStore } from '../batch/prediction-store.js';
import { readSetting } from '../core/settings/read-settings.js';
import { FeedbackStore } from '../monitoring/feedback/feedback-store.js';
import { QualityGauges } from '../monitoring/feedback/quality-gauges.js';
import type { StoredPredictionStore } from '../ports/prediction-store.js';
import type { FeedbackRoutesDeps } from '../serving/http/routes/feedback-routes.js';
import type { ServingMetrics } from '../serving/metrics.js';
import type { ModelHost } from '../serving/model-host.js';
import { SqlPredictionLog } from '../serving/prediction-log/sql-prediction-log.js';
import type { ServingConfig } from '../serving/serving-config.js';
import type { Closers } from './lifecycle.js';
import type { FerryContext } from './open-ferry.js';

/** Labels behind the rolling quality gauges at most: bounds the work of one refresh. */
const GAUGE_MAX_LABELS = 10_000;
/** Quality gauges are recomputed this long after labels arrive (arrivals in between share it). */
const GAUGE_SETTLE_MS = 1000;

/**
 * The feedback store over the registry's database, joined to the SQL prediction log (read even when
 * this process logs elsewhere: other replicas may write it) and to the stored predictions.
 */
export async function openFeedbackStore(
  ferry: Pick<FerryContext, 'sql'>,
  predictionStore?: StoredPredictionStore,
): Promise<FeedbackStore> {
  const log = new SqlPredictionLog(ferry.sql);
  await log.init();
  let stored = predictionStore;
  if (stored === undefined) {
    const opened = new PredictionStore({ sql: ferry.sql });
    await opened.init();
    stored = opened;
  }
  const store = new FeedbackStore({ sql: ferry.sql, log, stored });
  await store.init();
  return store;
}

/**
 * POST /v1/feedback and the quality gauges: labels in the registry's database (migration store
 * `feedback`, see openFeedbackStore). The gauges cover the labels received in
 * FERRY_MONITOR_WINDOW_MS (at most the last 10,000), recomputed every FERRY_MONITOR_INTERVAL_MS
 * and a second after labels arrive.
 */
export async function openFeedback(args: {
  ferry: FerryContext;
  sc: ServingConfig;
  metrics: ServingMetrics;
  host: ModelHost;
  predictionStore: StoredPredictionStore;
  closers: Closers;
  warn: (obj: object, msg: string) => void;
  env?: NodeJS.ProcessEnv;
}): Promise<FeedbackRoutesDeps> {
  const { ferry, sc, host, closers } = args;
  const env = args.env ?? process.env;
  const store = await openFeedbackStore(ferry, args.predictionStore);
  const gauges = new QualityGauges(args.metrics.registry, {
    source: store,
    models: sc.models,
    window: { windowMs: readSetting(env, 'FERRY_MONITOR_WINDOW_MS'), last: GAUGE_MAX_LABELS },
    intervalMs: readSetting(env, 'FERRY_MONITOR_INTERVAL_MS'),
    settleMs: GAUGE_SETTLE_MS,
    onError: (err) => args.warn({ err }, 'model quality gauges could not be computed'),
  });
  gauges.start();
  closers.add('quality gauges', () => gauges.stop());
  return {
    store,
    token: sc.feedbackToken,
    maxItems: sc.feedbackMaxItems,
    rateLimit: sc.feedbackRateLimit,
    // The production version's classes (what the labels are checked against); a model served here
    // whose default alias is not loaded yet is answered as not served.
    classesOf: (model) => (host.modelNames.includes(model) ? host.current(model)?.model.classes : undefined),
    onLabels: (model, outcome, n) => {
      gauges.labels.inc({ model, outcome }, n);
      if (outcome === 'stored' || outcome === 'unmatched') gauges.labelsArrived();
    },
  };
}
