import { ErrorCode, FerryError } from '../core/errors.js';
import type { TextLimits } from '../model/validate-input.js';
import { isValidModelName, parseVersionText } from '../registry/model-ref.js';
import type { BatcherOptions } from './adaptive-batcher.js';
import { parseCorsOrigins } from './http/cors.js';
import {
  DEFAULT_LIMITS,
  DEFAULT_STORED_SETTINGS,
  type ServingLimits,
  type StoredPredictionPolicy,
} from './http/server-context.js';
import type { OnDemandLimits } from './on-demand-budget.js';
import { MIN_LOG_BYTES_PER_REQUEST } from './prediction-log/cap-record.js';
import type { ServeVersionsAllowlist } from './version-access.js';

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
  /** When set, POST /v1/experiments/:id/events needs this bearer token (FERRY_EVENTS_TOKEN); otherwise none. */
  eventsToken: string | undefined;
  /** Bearer token allowing POST /v1/predictions/… to write back (FERRY_PREDICTIONS_TOKEN); the admin token does too. */
  predictionsToken: string | undefined;
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
}

/**
 * FERRY_SERVE_VERSIONS: `model:version` or `model:*`, comma-separated (`tagifai:3,tagifai:4`).
 * Empty: no version is released by configuration.
 */
export function parseServeVersions(raw: string | undefined): ServeVersionsAllowlist {
  const out = new Map<string, '*' | Set<number>>();
  for (const entry of (raw ?? '').split(',').map((s) => s.trim())) {
    if (entry === '') continue;
    const colon = entry.lastIndexOf(':');
    const model = entry.slice(0, colon);
    const versionText = entry.slice(colon + 1);
    const version = versionText === '*' ? '*' : parseVersionText(versionText);
    if (colon < 1 || !isValidModelName(model) || version === undefined) {
      throw new FerryError(
        ErrorCode.CONFIG_INVALID,
        `FERRY_SERVE_VERSIONS entries are model:version or model:* (e.g. tagifai:3,tagifai:*), got "${entry}"`,
      );
    }
    const current = out.get(model);
    if (version === '*' || current === '*') out.set(model, '*');
    else out.set(model, new Set([...(current ?? []), version]));
  }
  return out;
}

/** On-demand versions: 256 MiB of artifacts, 10 new loads a minute. */
export const DEFAULT_ON_DEMAND: OnDemandLimits = { maxBytes: 256 * 1024 * 1024, loadsPerMinute: 10 };

function num(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
  integer = true,
): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new FerryError(
      ErrorCode.CONFIG_INVALID,
      `${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got "${raw}"`,
    );
  }
  return n;
}

/**
 * FERRY_MAX_STRING_LENGTH, read in one place for the server and for `ferry predict`, so the CLI
 * refuses exactly the texts HTTP refuses.
 */
export function loadTextLimits(env: NodeJS.ProcessEnv): TextLimits {
  return {
    maxStringLength: num(
      'FERRY_MAX_STRING_LENGTH',
      env.FERRY_MAX_STRING_LENGTH,
      DEFAULT_LIMITS.maxStringLength,
      1,
      10_000_000,
    ),
  };
}

export function loadServingConfig(
  env: NodeJS.ProcessEnv,
  flags: Partial<Record<string, string | undefined>> = {},
): ServingConfig {
  const get = (flag: string, envName: string) => flags[flag] ?? env[envName];
  const list = (raw: string | undefined, fallback: string[]) =>
    raw
      ? raw
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : fallback;
  const log = get('predictionLog', 'FERRY_PREDICTION_LOG') ?? 'sql';
  if (!(log === 'sql' || log === 'off' || log.startsWith('jsonl:'))) {
    throw new FerryError(
      ErrorCode.CONFIG_INVALID,
      `FERRY_PREDICTION_LOG must be sql, off or jsonl:<path>, got "${log}"`,
    );
  }
  const cache = get('cache', 'FERRY_CACHE') ?? 'memory:';
  if (!(cache === 'off' || cache === 'memory:' || /^rediss?:\/\//.test(cache))) {
    throw new FerryError(ErrorCode.CONFIG_INVALID, 'FERRY_CACHE must be memory:, redis://… or off');
  }
  const storedPolicy = get('storedPolicy', 'FERRY_STORED_POLICY') || DEFAULT_STORED_SETTINGS.policy;
  if (storedPolicy !== 'write-back' && storedPolicy !== 'read-only') {
    throw new FerryError(
      ErrorCode.CONFIG_INVALID,
      `FERRY_STORED_POLICY must be write-back or read-only, got "${storedPolicy}"`,
    );
  }
  return {
    host: get('host', 'FERRY_HOST') ?? '0.0.0.0',
    port: num('port', get('port', 'PORT'), 8000, 0, 65535),
    workers: num('workers', get('workers', 'FERRY_WORKERS'), 1, 1, 64),
    workerStartAttempts: num('FERRY_WORKER_START_ATTEMPTS', env.FERRY_WORKER_START_ATTEMPTS, 5, 1, 1000),
    models: list(get('models', 'FERRY_MODELS'), ['tagifai']),
    aliases: list(get('aliases', 'FERRY_ALIASES'), ['production']),
    batcher: {
      maxBatchSize: num('max-batch-size', get('maxBatchSize', 'FERRY_MAX_BATCH_SIZE'), 64, 1, 100_000),
      maxQueueDelayMs: num(
        'max-queue-delay-ms',
        get('maxQueueDelayMs', 'FERRY_MAX_QUEUE_DELAY_MS'),
        0,
        0,
        10_000,
        false,
      ),
      maxQueueSize: num('max-queue-size', get('maxQueueSize', 'FERRY_MAX_QUEUE_SIZE'), 4096, 1, 10_000_000),
    },
    cache,
    cacheTtlMs: num('cache-ttl-ms', get('cacheTtlMs', 'FERRY_CACHE_TTL_MS'), 3_600_000, 1, 365 * 86_400_000),
    cacheMaxEntries: num('FERRY_CACHE_MAX_ENTRIES', env.FERRY_CACHE_MAX_ENTRIES, 100_000, 1, 100_000_000),
    cacheMaxBytes: num('FERRY_CACHE_MAX_BYTES', env.FERRY_CACHE_MAX_BYTES, 64 * 1024 * 1024, 1024, 2 ** 40),
    predictionLog: log,
    predictionLogSampleRate: num(
      'FERRY_PREDICTION_LOG_SAMPLE',
      env.FERRY_PREDICTION_LOG_SAMPLE,
      1,
      0,
      1,
      false,
    ),
    predictionLogMaxBytesPerRequest: num(
      'FERRY_PREDICTION_LOG_MAX_BYTES_PER_REQUEST',
      env.FERRY_PREDICTION_LOG_MAX_BYTES_PER_REQUEST,
      64 * 1024,
      MIN_LOG_BYTES_PER_REQUEST,
      1024 ** 3,
    ),
    aliasPollMs: num('FERRY_ALIAS_POLL_MS', env.FERRY_ALIAS_POLL_MS, 2000, 0, 3_600_000),
    shutdownTimeoutMs: num('FERRY_SHUTDOWN_TIMEOUT_MS', env.FERRY_SHUTDOWN_TIMEOUT_MS, 15_000, 100, 600_000),
    adminToken: env.FERRY_ADMIN_TOKEN || undefined,
    experimentPollMs: num('FERRY_EXPERIMENT_POLL_MS', env.FERRY_EXPERIMENT_POLL_MS, 2000, 0, 3_600_000),
    eventsToken: env.FERRY_EVENTS_TOKEN || undefined,
    predictionsToken: env.FERRY_PREDICTIONS_TOKEN || undefined,
    canaryEvaluateMs: num('FERRY_CANARY_EVALUATE_MS', env.FERRY_CANARY_EVALUATE_MS, 1000, 10, 3_600_000),
    shadowFlushMs: num('FERRY_SHADOW_FLUSH_MS', env.FERRY_SHADOW_FLUSH_MS, 5000, 10, 3_600_000),
    serveVersions: parseServeVersions(env.FERRY_SERVE_VERSIONS),
    onDemand: {
      maxBytes: num(
        'FERRY_ON_DEMAND_MAX_BYTES',
        env.FERRY_ON_DEMAND_MAX_BYTES,
        DEFAULT_ON_DEMAND.maxBytes,
        0,
        2 ** 40,
      ),
      loadsPerMinute: num(
        'FERRY_ON_DEMAND_LOADS_PER_MINUTE',
        env.FERRY_ON_DEMAND_LOADS_PER_MINUTE,
        DEFAULT_ON_DEMAND.loadsPerMinute,
        0,
        100_000,
      ),
    },
    storedMaxAgeMs: num(
      'FERRY_STORED_MAX_AGE_MS',
      get('storedMaxAgeMs', 'FERRY_STORED_MAX_AGE_MS'),
      DEFAULT_STORED_SETTINGS.maxAgeMs,
      0,
      100 * 365 * 86_400_000,
    ),
    storedPolicy,
    corsOrigins: parseCorsOrigins(env.FERRY_CORS_ORIGINS),
    limits: {
      bodyLimit: num('FERRY_BODY_LIMIT', env.FERRY_BODY_LIMIT, DEFAULT_LIMITS.bodyLimit, 1024, 1024 ** 3),
      maxItems: num('FERRY_MAX_ITEMS', env.FERRY_MAX_ITEMS, DEFAULT_LIMITS.maxItems, 1, 1_000_000),
      maxStringLength: loadTextLimits(env).maxStringLength,
      requestTimeoutMs: num(
        'FERRY_REQUEST_TIMEOUT_MS',
        env.FERRY_REQUEST_TIMEOUT_MS,
        DEFAULT_LIMITS.requestTimeoutMs,
        10,
        600_000,
      ),
      maxConnections: num(
        'FERRY_MAX_CONNECTIONS',
        env.FERRY_MAX_CONNECTIONS,
        DEFAULT_LIMITS.maxConnections,
        0,
        1_000_000,
      ),
      keepAliveTimeoutMs: num(
        'FERRY_KEEP_ALIVE_TIMEOUT_MS',
        env.FERRY_KEEP_ALIVE_TIMEOUT_MS,
        DEFAULT_LIMITS.keepAliveTimeoutMs,
        1,
        600_000,
      ),
      maxRequestsPerSocket: num(
        'FERRY_MAX_REQUESTS_PER_SOCKET',
        env.FERRY_MAX_REQUESTS_PER_SOCKET,
        DEFAULT_LIMITS.maxRequestsPerSocket,
        0,
        100_000_000,
      ),
    },
  };
}
