import type { SETTINGS, SettingName } from '../core/settings/catalogue.js';
import { configInvalid, readSetting } from '../core/settings/read-settings.js';
import type { TextLimits } from '../model/validate-input.js';
import { isValidModelName, parseVersionText } from '../registry/model-ref.js';
import type { BatcherOptions } from './adaptive-batcher.js';
import type { OnDemandLimits } from './on-demand-budget.js';
import type { ServeVersionsAllowlist } from './version-access.js';

export interface ServingLimits {
  /** Bytes per request body. */
  bodyLimit: number;
  /** Items per request (course batch form and v2 infer). */
  maxItems: number;
  /** Characters per title or description. */
  maxStringLength: number;
  /** Bytes of input tensor data per v2 request (FERRY_MAX_TENSOR_BYTES), checked from the shapes first. */
  maxTensorBytes: number;
  /**
   * A request not answered by then gets 503 (and its queued work is dropped); one whose headers and
   * body are not received by then gets 408 and its connection closed (slow clients).
   */
  requestTimeoutMs: number;
  /** Open connections at most per process (FERRY_MAX_CONNECTIONS); more are closed at once. 0: no cap. */
  maxConnections: number;
  /** An idle keep-alive connection is closed after this (FERRY_KEEP_ALIVE_TIMEOUT_MS). */
  keepAliveTimeoutMs: number;
  /** Requests per keep-alive connection (FERRY_MAX_REQUESTS_PER_SOCKET); 0: no limit. */
  maxRequestsPerSocket: number;
}

/** `write-back`: live answers of POST /v1/predictions/… are upserted into the store; `read-only`: never. */
export type StoredPredictionPolicy = (typeof SETTINGS.FERRY_STORED_POLICY.values)[number];

/** Settings of `ferry serve`: flags win over environment variables, which win over these defaults. */
export interface ServingConfig {
  host: string;
  port: number;
  workers: number;
  /**
   * `--workers N`: workers in a row that exit before listening, with none listening, after which the
   * primary exits (FERRY_WORKER_START_ATTEMPTS, default 5).
   */
  workerStartAttempts: number;
  models: string[];
  aliases: string[];
  batcher: Required<BatcherOptions>;
  /** `memory:` (per process), `redis://…` (shared by replicas) or `off`. */
  cache: string;
  cacheTtlMs: number;
  cacheMaxEntries: number;
  cacheMaxBytes: number;
  /** `sql` (the registry's database), `jsonl:<path>` or `off`. */
  predictionLog: string;
  predictionLogSampleRate: number;
  /** JSON bytes one request may take in the prediction log; text beyond is cut (FERRY_PREDICTION_LOG_MAX_BYTES_PER_REQUEST). */
  predictionLogMaxBytesPerRequest: number;
  aliasPollMs: number;
  shutdownTimeoutMs: number;
  adminToken: string | undefined;
  limits: ServingLimits;
  /** POST /v1/predictions/…: a stored prediction older than this is predicted again (FERRY_STORED_MAX_AGE_MS). */
  storedMaxAgeMs: number;
  /** `write-back`: live predictions of POST /v1/predictions/… are stored; `read-only`: never (FERRY_STORED_POLICY). */
  storedPolicy: StoredPredictionPolicy;
  /** How often running experiments (and bandit weights) are re-read from the database (FERRY_EXPERIMENT_POLL_MS); 0: only after API changes. */
  experimentPollMs: number;
  /** A bearer token for POST /v1/experiments/:id/events besides the admin token (FERRY_EVENTS_TOKEN). */
  eventsToken: string | undefined;
  /**
   * FERRY_EVENTS_ANONYMOUS=true lets anyone report outcomes (off by default: outcomes change the
   * analysis others read, so they need the events or admin token).
   */
  eventsAnonymous: boolean;
  /** Bearer token allowing POST /v1/predictions/… to write back (FERRY_PREDICTIONS_TOKEN); the admin token does too. */
  predictionsToken: string | undefined;
  /** FERRY_FEATURES_TOKEN: online reads and entity lookups need it (or the admin token) when set. */
  featuresToken: string | undefined;
  /** FERRY_STREAMS_TOKEN: publishing events over HTTP (besides the admin token). */
  streamsToken: string | undefined;
  /** FERRY_ONLINE_STORE; undefined: a table in the registry database. */
  onlineStore: string | undefined;
  /** FERRY_STREAM_URL; undefined: the embedded log beside the registry. */
  streamUrl: string | undefined;
  /** FERRY_STREAM_MAX_EVENT_BYTES. */
  maxEventBytes: number;
  /** FERRY_FEEDBACK_TOKEN: posting labels (besides the admin token). */
  feedbackToken: string | undefined;
  /** FERRY_FEEDBACK_MAX_ITEMS: labels per request. */
  feedbackMaxItems: number;
  /** FERRY_FEEDBACK_RATE_LIMIT: feedback requests per second per client; 0: none. */
  feedbackRateLimit: number;
  /** FERRY_MONITOR_TOKEN: reading drift reports (besides the admin token). */
  monitorToken: string | undefined;
  /** How often canary counters are written and canaries evaluated (FERRY_CANARY_EVALUATE_MS, default 1000). */
  canaryEvaluateMs: number;
  /** How often shadow counters are written (FERRY_SHADOW_FLUSH_MS, default 5000). */
  shadowFlushMs: number;
  /** Versions anyone may ask for by number besides aliased and experiment ones (FERRY_SERVE_VERSIONS). */
  serveVersions: ServeVersionsAllowlist;
  /** Budget and rate of versions loaded on demand (FERRY_ON_DEMAND_MAX_BYTES, FERRY_ON_DEMAND_LOADS_PER_MINUTE). */
  onDemand: OnDemandLimits;
  /** Origins browsers may call from (FERRY_CORS_ORIGINS, comma list or `*`); empty: CORS off. */
  corsOrigins: string[];
  /** Share of requests logged in the access log, 0..1 (FERRY_ACCESS_LOG_SAMPLE, default 0: off; `--access-log`: 1). */
  accessLogSample: number;
  /** Serve the dashboard at /ui (FERRY_UI, default true; `ferry serve --no-ui` sets false). */
  ui: boolean;
  /** Versions loaded on demand at once (FERRY_ON_DEMAND_MAX_VERSIONS). */
  onDemandMaxVersions: number;
  /** Prediction log records buffered before new ones are dropped (FERRY_PREDICTION_LOG_MAX_BUFFERED). */
  predictionLogMaxBuffered: number;
  /** How often the prediction log is written (FERRY_PREDICTION_LOG_FLUSH_MS). */
  predictionLogFlushMs: number;
  /** Prediction log records per write (FERRY_PREDICTION_LOG_FLUSH_SIZE). */
  predictionLogFlushSize: number;
  /** The server's log level (FERRY_LOG_LEVEL). */
  logLevel: string;
}

/**
 * FERRY_SERVE_VERSIONS: `model:version` or `model:*`, comma-separated (`tagifai:3,tagifai:4`).
 * Empty: no version is released by configuration.
 */
export function parseServeVersions(raw: string | undefined): ServeVersionsAllowlist {
  return toAllowlist(readSetting({ FERRY_SERVE_VERSIONS: raw }, 'FERRY_SERVE_VERSIONS'));
}

/** The settings reader checked each entry's shape; the name and version rules are the registry's. */
function toAllowlist(entries: readonly string[]): ServeVersionsAllowlist {
  const out = new Map<string, '*' | Set<number>>();
  for (const entry of entries) {
    const colon = entry.lastIndexOf(':');
    const model = entry.slice(0, colon);
    const versionText = entry.slice(colon + 1);
    const version = versionText === '*' ? '*' : parseVersionText(versionText);
    if (colon < 1 || !isValidModelName(model) || version === undefined) {
      throw configInvalid(
        `FERRY_SERVE_VERSIONS entries are model:version or model:* (e.g. tagifai:3,tagifai:*), got "${entry}"`,
        { setting: 'FERRY_SERVE_VERSIONS', value: entry },
      );
    }
    const current = out.get(model);
    if (version === '*' || current === '*') out.set(model, '*');
    else out.set(model, new Set([...(current ?? []), version]));
  }
  return out;
}

/**
 * FERRY_MAX_STRING_LENGTH, read in one place for the server and for `ferry predict`, so the CLI
 * refuses exactly the texts HTTP refuses.
 */
export function loadTextLimits(env: NodeJS.ProcessEnv): TextLimits {
  return { maxStringLength: readSetting(env, 'FERRY_MAX_STRING_LENGTH') };
}

/** The serving settings, a view over the settings module: flags win over variables, then defaults. */
export function loadServingConfig(
  env: NodeJS.ProcessEnv,
  flags: Partial<Record<string, string | undefined>> = {},
): ServingConfig {
  const read = <N extends SettingName>(name: N) => readSetting(env, name);
  // A flag of `ferry serve` wins over its variable and is validated alike; `cacheTtlMs`,
  // `storedMaxAgeMs` and `storedPolicy` have no CLI flag: callers building a config in code use them.
  const flagged = <N extends SettingName>(name: N, key: string, label = key) =>
    readSetting(env, name, { raw: flags[key], label });
  return {
    host: flagged('FERRY_HOST', 'host', '--host'),
    port: flagged('PORT', 'port', '--port'),
    workers: flagged('FERRY_WORKERS', 'workers', '--workers'),
    workerStartAttempts: read('FERRY_WORKER_START_ATTEMPTS'),
    models: flagged('FERRY_MODELS', 'models', '--models'),
    aliases: flagged('FERRY_ALIASES', 'aliases', '--aliases'),
    batcher: {
      maxBatchSize: flagged('FERRY_MAX_BATCH_SIZE', 'maxBatchSize', '--max-batch-size'),
      maxQueueDelayMs: flagged('FERRY_MAX_QUEUE_DELAY_MS', 'maxQueueDelayMs', '--max-queue-delay-ms'),
      maxQueueSize: flagged('FERRY_MAX_QUEUE_SIZE', 'maxQueueSize', '--max-queue-size'),
    },
    cache: flagged('FERRY_CACHE', 'cache', '--cache'),
    cacheTtlMs: flagged('FERRY_CACHE_TTL_MS', 'cacheTtlMs'),
    cacheMaxEntries: read('FERRY_CACHE_MAX_ENTRIES'),
    cacheMaxBytes: read('FERRY_CACHE_MAX_BYTES'),
    predictionLog: flagged('FERRY_PREDICTION_LOG', 'predictionLog', '--prediction-log'),
    predictionLogSampleRate: read('FERRY_PREDICTION_LOG_SAMPLE'),
    predictionLogMaxBytesPerRequest: read('FERRY_PREDICTION_LOG_MAX_BYTES_PER_REQUEST'),
    predictionLogMaxBuffered: read('FERRY_PREDICTION_LOG_MAX_BUFFERED'),
    predictionLogFlushMs: read('FERRY_PREDICTION_LOG_FLUSH_MS'),
    predictionLogFlushSize: read('FERRY_PREDICTION_LOG_FLUSH_SIZE'),
    aliasPollMs: read('FERRY_ALIAS_POLL_MS'),
    shutdownTimeoutMs: read('FERRY_SHUTDOWN_TIMEOUT_MS'),
    logLevel: read('FERRY_LOG_LEVEL'),
    adminToken: read('FERRY_ADMIN_TOKEN'),
    experimentPollMs: read('FERRY_EXPERIMENT_POLL_MS'),
    eventsToken: read('FERRY_EVENTS_TOKEN'),
    predictionsToken: read('FERRY_PREDICTIONS_TOKEN'),
    featuresToken: read('FERRY_FEATURES_TOKEN'),
    streamsToken: read('FERRY_STREAMS_TOKEN'),
    onlineStore: read('FERRY_ONLINE_STORE'),
    streamUrl: read('FERRY_STREAM_URL'),
    maxEventBytes: read('FERRY_STREAM_MAX_EVENT_BYTES'),
    feedbackToken: read('FERRY_FEEDBACK_TOKEN'),
    feedbackMaxItems: read('FERRY_FEEDBACK_MAX_ITEMS'),
    feedbackRateLimit: read('FERRY_FEEDBACK_RATE_LIMIT'),
    monitorToken: read('FERRY_MONITOR_TOKEN'),
    canaryEvaluateMs: read('FERRY_CANARY_EVALUATE_MS'),
    shadowFlushMs: read('FERRY_SHADOW_FLUSH_MS'),
    serveVersions: toAllowlist(read('FERRY_SERVE_VERSIONS')),
    eventsAnonymous: read('FERRY_EVENTS_ANONYMOUS'),
    onDemand: {
      maxBytes: read('FERRY_ON_DEMAND_MAX_BYTES'),
      loadsPerMinute: read('FERRY_ON_DEMAND_LOADS_PER_MINUTE'),
    },
    onDemandMaxVersions: read('FERRY_ON_DEMAND_MAX_VERSIONS'),
    storedMaxAgeMs: flagged('FERRY_STORED_MAX_AGE_MS', 'storedMaxAgeMs'),
    storedPolicy: flagged('FERRY_STORED_POLICY', 'storedPolicy'),
    corsOrigins: read('FERRY_CORS_ORIGINS'),
    ui: flagged('FERRY_UI', 'ui', '--no-ui'),
    // The --access-log flag (a boolean, passed as 'true') logs every request.
    accessLogSample: flags.accessLog === 'true' ? 1 : read('FERRY_ACCESS_LOG_SAMPLE'),
    limits: {
      bodyLimit: read('FERRY_BODY_LIMIT'),
      maxItems: read('FERRY_MAX_ITEMS'),
      maxStringLength: loadTextLimits(env).maxStringLength,
      maxTensorBytes: read('FERRY_MAX_TENSOR_BYTES'),
      requestTimeoutMs: read('FERRY_REQUEST_TIMEOUT_MS'),
      maxConnections: read('FERRY_MAX_CONNECTIONS'),
      keepAliveTimeoutMs: read('FERRY_KEEP_ALIVE_TIMEOUT_MS'),
      maxRequestsPerSocket: read('FERRY_MAX_REQUESTS_PER_SOCKET'),
    },
  };
}
