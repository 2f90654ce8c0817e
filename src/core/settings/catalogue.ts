import type { SettingSpec, TextRule } from './setting-types.js';

/** The built-in application's model name: the default of `--model`, `--name` and FERRY_MODELS. */
export const DEFAULT_MODEL_NAME = 'tagifai';

const MS_PER_DAY = 86_400_000;
const MIB = 1024 * 1024;

/** An origin as a browser sends it: `http(s)://host[:port]`, no path, query or trailing slash. */
function isOrigin(value: string): boolean {
  if (value === '*') return true;
  try {
    const url = new URL(value);
    return /^https?:$/.test(url.protocol) && url.origin === value;
  } catch {
    return false;
  }
}

const ORIGIN: TextRule = { test: isOrigin, text: 'a list of origins like https://app.example, or *' };
// The shape only: the name and version rules are the registry's, applied by parseServeVersions.
const SERVE_VERSION: TextRule = {
  test: (v) => /^[^:\s]+:(\*|\d+)$/.test(v),
  text: 'a list of model:version or model:* (e.g. tagifai:3,tagifai:*)',
};

/**
 * Every environment variable Ferry reads, declared once. An empty value counts as unset. Readers
 * (src/core/config.ts, src/serving/serving-config.ts, the CLI) go through read-settings.ts, which
 * validates against these declarations; the README's Settings table is generated from them
 * (`npm run docs:settings -- --write`) and a test keeps the two equal.
 */
export const SETTINGS = {
  FERRY_HOME: {
    type: 'string',
    default: undefined,
    defaultText: '`.ferry` of the project directory',
    group: 'storage',
    description:
      'where the embedded defaults live; the project directory is the nearest one, from the current directory up, that contains `.ferry` or `package.json` (the current directory if none does)',
  },
  FERRY_DB: {
    type: 'string',
    default: undefined,
    defaultText: '`sqlite:$FERRY_HOME/ferry.db`',
    group: 'storage',
    secret: 'url-credentials',
    rule: {
      test: (v) => /^(sqlite:|postgres(ql)?:\/\/)/.test(v),
      text: 'sqlite:<path> or postgres://…',
    },
    description: 'registry database: `sqlite:<path>` or `postgres://user@host:5432/db?schema=ferry`',
  },
  FERRY_ARTIFACTS: {
    type: 'string',
    default: undefined,
    defaultText: '`$FERRY_HOME/artifacts`',
    group: 'storage',
    description: 'artifact blob store directory',
  },
  FERRY_CACHE_DIR: {
    type: 'string',
    default: undefined,
    defaultText: '`$FERRY_HOME/cache`',
    group: 'storage',
    description: 'downloaded datasets',
  },
  FERRY_FEATURES_FILE: {
    type: 'string',
    default: undefined,
    defaultText: '`features.json`, `features.ts` or `features.mjs` in the project directory',
    group: 'storage',
    description:
      'the feature repository file `ferry features apply` reads (entities, sources, views, services, pipelines)',
  },
  FERRY_ONLINE_STORE: {
    type: 'string',
    default: undefined,
    defaultText: 'the registry database (`FERRY_DB`)',
    group: 'storage',
    secret: 'url-credentials',
    rule: {
      test: (v) => /^(sqlite:|postgres(ql)?:\/\/|rediss?:\/\/)/.test(v),
      text: 'sqlite:<path>, postgres://… or redis://…',
    },
    description: 'online feature store: `sqlite:<path>`, `postgres://…` or `redis://host:6379`',
  },
  FERRY_STREAM_URL: {
    type: 'string',
    default: undefined,
    defaultText: '`sqlite:$FERRY_HOME/streams.db` (the embedded log)',
    group: 'storage',
    secret: 'url-credentials',
    rule: {
      test: (v) => /^(sqlite:|nats:\/\/)/.test(v),
      text: 'sqlite:<path> or nats://host:4222',
    },
    description: 'stream transport: the embedded log `sqlite:<path>` or NATS JetStream `nats://host:4222`',
  },
  FERRY_STREAM_MAX_EVENT_BYTES: {
    type: 'integer',
    default: 1_048_576,
    min: 64,
    max: 8_388_608,
    group: 'limits',
    description:
      'largest event a stream accepts (HTTP, CLI, producer API); larger ones fail with FERRY_STREAM_EVENT_TOO_LARGE',
  },
  DATASET_LOC: {
    type: 'string',
    default: undefined,
    defaultText: "the course's `dataset.csv` URL",
    group: 'training',
    secret: 'url-credentials',
    flag: '--dataset-loc',
    description: 'training data (and `ferry evaluate`’s default): a path or an http(s) URL',
  },
  FERRY_SEED: {
    type: 'integer',
    default: 42,
    min: 0,
    max: 2 ** 32 - 1,
    group: 'training',
    flag: '--seed',
    description: 'split and fold seed',
  },
  FERRY_GIT_COMMIT: {
    type: 'string',
    default: undefined,
    defaultText: '`GITHUB_SHA`, `CI_COMMIT_SHA` or `git rev-parse HEAD`',
    fallbacks: ['GITHUB_SHA', 'CI_COMMIT_SHA'],
    group: 'training',
    description: "the code's commit recorded with each registered version",
  },
  FERRY_HOST: {
    type: 'string',
    default: '0.0.0.0',
    group: 'serving',
    flag: '--host',
    description: 'address `ferry serve` listens on',
  },
  PORT: {
    type: 'integer',
    default: 8000,
    min: 0,
    max: 65535,
    group: 'serving',
    flag: '--port',
    description: 'port `ferry serve` listens on',
  },
  FERRY_WORKERS: {
    type: 'integer',
    default: 1,
    min: 1,
    max: 64,
    group: 'serving',
    flag: '--workers',
    description: 'processes sharing the port (node:cluster)',
  },
  FERRY_WORKER_START_ATTEMPTS: {
    type: 'integer',
    default: 5,
    min: 1,
    max: 1000,
    group: 'serving',
    description:
      'with `--workers N`: workers in a row that fail to start, none listening, before the primary exits 1',
  },
  FERRY_MODELS: {
    type: 'list',
    default: [DEFAULT_MODEL_NAME],
    group: 'serving',
    flag: '--models',
    description: 'models served (comma list)',
  },
  FERRY_ALIASES: {
    type: 'list',
    default: ['production'],
    group: 'serving',
    flag: '--aliases',
    description: 'aliases followed and served (comma list)',
  },
  FERRY_MAX_BATCH_SIZE: {
    type: 'integer',
    default: 64,
    min: 1,
    max: 100_000,
    group: 'serving',
    flag: '--max-batch-size',
    description: 'items per model call of the adaptive batcher',
  },
  FERRY_MAX_QUEUE_DELAY_MS: {
    type: 'number',
    default: 0,
    min: 0,
    max: 10_000,
    group: 'serving',
    flag: '--max-queue-delay-ms',
    description: 'how long an idle batcher may wait for more requests',
  },
  FERRY_MAX_QUEUE_SIZE: {
    type: 'integer',
    default: 4096,
    min: 1,
    max: 10_000_000,
    group: 'serving',
    flag: '--max-queue-size',
    description: 'queued items per version; beyond, 503 with `Retry-After`',
  },
  FERRY_ALIAS_POLL_MS: {
    type: 'integer',
    default: 2000,
    min: 0,
    max: 3_600_000,
    group: 'serving',
    description: 'how often the aliases are re-read (zero-downtime swaps)',
  },
  FERRY_SHUTDOWN_TIMEOUT_MS: {
    type: 'integer',
    default: 15_000,
    min: 100,
    max: 600_000,
    group: 'serving',
    description: 'drain time on SIGTERM/SIGINT before exiting 1',
  },
  FERRY_ADMIN_TOKEN: {
    type: 'string',
    default: undefined,
    group: 'serving',
    secret: 'value',
    description: 'bearer token of the admin API; unset: the admin API answers 401',
  },
  FERRY_SERVE_VERSIONS: {
    type: 'list',
    default: [],
    item: SERVE_VERSION,
    group: 'serving',
    description: 'explicit versions released to anyone: `tagifai:3,tagifai:4` or `tagifai:*`',
  },
  FERRY_ON_DEMAND_MAX_BYTES: {
    type: 'integer',
    default: 256 * MIB,
    min: 0,
    max: 2 ** 40,
    group: 'serving',
    description: 'estimated bytes (artifact sizes) of versions loaded on demand',
  },
  FERRY_ON_DEMAND_LOADS_PER_MINUTE: {
    type: 'integer',
    default: 10,
    min: 0,
    max: 100_000,
    group: 'serving',
    description: 'new on-demand loads a minute',
  },
  FERRY_ON_DEMAND_MAX_VERSIONS: {
    type: 'integer',
    default: 4,
    min: 1,
    max: 1000,
    group: 'serving',
    description: 'versions loaded on demand at once',
  },
  FERRY_CORS_ORIGINS: {
    type: 'list',
    default: [],
    item: ORIGIN,
    group: 'serving',
    description: 'origins browsers may call from (comma list, or `*`); empty: CORS off',
  },
  FERRY_UI: {
    type: 'boolean',
    default: true,
    group: 'serving',
    description: 'serve the dashboard at /ui (built by `npm run build`; `ferry serve --no-ui` turns it off)',
  },
  FERRY_BODY_LIMIT: {
    type: 'integer',
    default: MIB,
    min: 1024,
    max: 1024 ** 3,
    group: 'limits',
    description: 'bytes per request body',
  },
  FERRY_MAX_ITEMS: {
    type: 'integer',
    default: 1000,
    min: 1,
    max: 1_000_000,
    group: 'limits',
    description: 'items per request (batch `/predict`, v2 infer, experiment events)',
  },
  FERRY_MAX_STRING_LENGTH: {
    type: 'integer',
    default: 20_000,
    min: 1,
    max: 10_000_000,
    group: 'limits',
    description: 'characters per title or description (HTTP and `ferry predict`)',
  },
  FERRY_MAX_TENSOR_BYTES: {
    type: 'integer',
    default: 16 * 1024 * 1024,
    min: 1024,
    max: 1024 * 1024 * 1024,
    group: 'limits',
    description:
      'bytes of input tensor data one v2 request may declare (elements times datatype size, UTF-8 bytes for BYTES), refused before the data is decoded',
  },
  FERRY_MODEL_TIMEOUT_MS: {
    type: 'integer',
    default: 30_000,
    min: 10,
    max: 3_600_000,
    group: 'limits',
    description:
      'longest one call into a custom model (load, predict) or to a remote-v2 server may take before it fails with FERRY_MODEL_TIMEOUT',
  },
  FERRY_REQUEST_TIMEOUT_MS: {
    type: 'integer',
    default: 10_000,
    min: 10,
    max: 600_000,
    group: 'limits',
    description: 'deadline of a request (503 past it), and time to receive it (408)',
  },
  FERRY_MAX_CONNECTIONS: {
    type: 'integer',
    default: 10_000,
    min: 0,
    max: 1_000_000,
    group: 'limits',
    description: 'open connections per process; 0: no cap',
  },
  FERRY_KEEP_ALIVE_TIMEOUT_MS: {
    type: 'integer',
    default: 5000,
    min: 1,
    max: 600_000,
    group: 'limits',
    description: 'an idle keep-alive connection is closed after this',
  },
  FERRY_MAX_REQUESTS_PER_SOCKET: {
    type: 'integer',
    default: 0,
    min: 0,
    max: 100_000_000,
    group: 'limits',
    description: 'requests per keep-alive connection; 0: no limit',
  },
  FERRY_CACHE: {
    type: 'string',
    default: 'memory:',
    rule: { test: (v) => /^(off|memory:|rediss?:\/\/.*)$/s.test(v), text: 'memory:, redis://… or off' },
    group: 'cache',
    secret: 'url-credentials',
    flag: '--cache',
    description: 'prediction cache: `memory:` (per process), `redis://host:6379` (shared) or `off`',
  },
  FERRY_CACHE_TTL_MS: {
    type: 'integer',
    default: 3_600_000,
    min: 1,
    max: 365 * MS_PER_DAY,
    group: 'cache',
    description: 'time to live of a cached prediction',
  },
  FERRY_CACHE_MAX_ENTRIES: {
    type: 'integer',
    default: 100_000,
    min: 1,
    max: 100_000_000,
    group: 'cache',
    description: 'entries of the `memory:` cache',
  },
  FERRY_CACHE_MAX_BYTES: {
    type: 'integer',
    default: 64 * MIB,
    min: 1024,
    max: 2 ** 40,
    group: 'cache',
    description: 'bytes of the `memory:` cache',
  },
  FERRY_PREDICTION_LOG: {
    type: 'string',
    default: 'sql',
    rule: { test: (v) => /^(sql|off|jsonl:.*)$/s.test(v), text: 'sql, off or jsonl:<path>' },
    group: 'prediction log',
    flag: '--prediction-log',
    description: "`sql` (the registry's database), `jsonl:<path>` or `off`",
  },
  FERRY_PREDICTION_LOG_SAMPLE: {
    type: 'number',
    default: 1,
    min: 0,
    max: 1,
    group: 'prediction log',
    description: 'share of requests logged',
  },
  FERRY_PREDICTION_LOG_MAX_BYTES_PER_REQUEST: {
    type: 'integer',
    default: 64 * 1024,
    // The smallest cap accepted: request-level fields (identifiers ≤ 256 bytes each) must fit.
    min: 4096,
    max: 1024 ** 3,
    group: 'prediction log',
    description: 'JSON bytes of one record; texts, then items, beyond are cut',
  },
  FERRY_PREDICTION_LOG_MAX_BUFFERED: {
    type: 'integer',
    default: 100_000,
    min: 1,
    max: 100_000_000,
    group: 'prediction log',
    description: 'records waiting to be written; more are dropped (counted), never requests',
  },
  FERRY_PREDICTION_LOG_FLUSH_MS: {
    type: 'integer',
    default: 250,
    min: 1,
    max: 3_600_000,
    group: 'prediction log',
    description: 'how often buffered records are written',
  },
  FERRY_PREDICTION_LOG_FLUSH_SIZE: {
    type: 'integer',
    default: 100,
    min: 1,
    max: 1_000_000,
    group: 'prediction log',
    description: 'records per write',
  },
  FERRY_STORED_MAX_AGE_MS: {
    type: 'integer',
    default: 7 * MS_PER_DAY,
    min: 0,
    max: 100 * 365 * MS_PER_DAY,
    group: 'stored predictions',
    description: '`POST /v1/predictions/…`: a stored prediction older than this is predicted again',
  },
  FERRY_STORED_POLICY: {
    type: 'enum',
    values: ['write-back', 'read-only'],
    default: 'write-back',
    group: 'stored predictions',
    description: '`write-back`: live answers of authorised callers are stored; `read-only`: never',
  },
  FERRY_PREDICTIONS_TOKEN: {
    type: 'string',
    default: undefined,
    group: 'stored predictions',
    secret: 'value',
    description: 'bearer token allowing `POST /v1/predictions/…` to write back (the admin token does too)',
  },
  FERRY_FEATURES_TOKEN: {
    type: 'string',
    default: undefined,
    group: 'features and streams',
    secret: 'value',
    description:
      'when set, `POST /v1/features/online` and entity lookups in `/predict` need this bearer token (or the admin token); unset: online features are readable by anyone who can call `/predict`',
  },
  FERRY_STREAMS_TOKEN: {
    type: 'string',
    default: undefined,
    group: 'features and streams',
    secret: 'value',
    description:
      'a bearer token for `POST /v1/streams/{stream}/events` besides the admin token (give it to the producers); without either, the route answers 401',
  },
  FERRY_FEEDBACK_TOKEN: {
    type: 'string',
    default: undefined,
    group: 'monitoring and learning',
    secret: 'value',
    description:
      'a bearer token for `POST /v1/feedback` besides the admin token (give it to the applications that learn the true labels); without either, the route answers 401',
  },
  FERRY_FEEDBACK_MAX_ITEMS: {
    type: 'integer',
    default: 1000,
    min: 1,
    max: 100_000,
    group: 'monitoring and learning',
    description: 'labels one `POST /v1/feedback` may carry',
  },
  FERRY_FEEDBACK_RATE_LIMIT: {
    type: 'integer',
    default: 100,
    min: 0,
    max: 1_000_000,
    group: 'monitoring and learning',
    description:
      '`POST /v1/feedback` requests per second one client (token or address) may make; 0: no limit',
  },
  FERRY_MONITOR_TOKEN: {
    type: 'string',
    default: undefined,
    group: 'monitoring and learning',
    secret: 'value',
    description:
      'a bearer token for `GET /v1/monitoring/{model}` besides the admin token (a report shows what inputs look like); without either, the route answers 401',
  },
  FERRY_MONITOR_INTERVAL_MS: {
    type: 'integer',
    default: 60_000,
    min: 1000,
    max: 86_400_000,
    group: 'monitoring and learning',
    flag: '--interval-ms',
    description: '`ferry monitor run` and `serve --monitor`: how often the drift checks and detectors run',
  },
  FERRY_MONITOR_WINDOW_MS: {
    type: 'integer',
    default: 3_600_000,
    min: 1000,
    max: 366 * 86_400_000,
    group: 'monitoring and learning',
    flag: '--window',
    description: 'the window of the prediction log a drift report compares with the reference',
  },
  FERRY_MONITOR_WEBHOOK_URL: {
    type: 'string',
    default: undefined,
    group: 'monitoring and learning',
    secret: 'url-credentials',
    description: 'where alerts are POSTed as JSON (besides the log and the alerts table); unset: no webhook',
  },
  FERRY_RETRAIN_SCHEDULE: {
    type: 'string',
    default: undefined,
    group: 'monitoring and learning',
    flag: '--schedule',
    description:
      '`ferry retrain --watch`: a cron expression (e.g. `0 3 * * 1`) on which to retrain; unset: no schedule',
  },
  FERRY_RETRAIN_POLICY: {
    type: 'enum',
    values: ['staging', 'canary', 'promote'],
    default: 'staging',
    group: 'monitoring and learning',
    flag: '--policy',
    description:
      'what a candidate that passes the retraining gate becomes: the `staging` alias, a canary experiment against production, or `production` at once',
  },
  FERRY_RETRAIN_MIN_F1: {
    type: 'number',
    default: 0.5,
    min: 0,
    max: 1,
    group: 'monitoring and learning',
    flag: '--min-f1',
    description: "the retraining gate: the candidate's weighted F1 on the evaluation set must reach this",
  },
  FERRY_RETRAIN_CLASS_MARGIN: {
    type: 'number',
    default: 0.05,
    min: 0,
    max: 1,
    group: 'monitoring and learning',
    flag: '--class-margin',
    description: "the retraining gate: no class's F1 may fall below production's by more than this",
  },
  FERRY_RETRAIN_MIN_EVAL_ROWS: {
    type: 'integer',
    default: 100,
    min: 1,
    max: 100_000_000,
    group: 'monitoring and learning',
    flag: '--min-eval-rows',
    description: 'the retraining gate: an evaluation set smaller than this refuses the candidate',
  },
  FERRY_RETRAIN_AFTER_LABELS: {
    type: 'integer',
    default: 0,
    min: 0,
    max: 100_000_000,
    group: 'monitoring and learning',
    flag: '--after-labels',
    description:
      '`ferry retrain --watch`: retrain once this many new labels arrived since the last run; 0: off',
  },
  FERRY_EXPERIMENT_POLL_MS: {
    type: 'integer',
    default: 2000,
    min: 0,
    max: 3_600_000,
    group: 'experiments',
    description: 'how often running experiments are re-read; 0: only after API changes',
  },
  FERRY_EVENTS_TOKEN: {
    type: 'string',
    default: undefined,
    group: 'experiments',
    secret: 'value',
    description:
      'a bearer token for `POST /v1/experiments/{id}/events` besides the admin token (give it to the applications that report outcomes)',
  },
  FERRY_EVENTS_ANONYMOUS: {
    type: 'boolean',
    default: false,
    group: 'experiments',
    description:
      'let anyone report experiment outcomes without a token (off: outcomes change the analysis others read; for closed networks only)',
  },
  FERRY_CANARY_EVALUATE_MS: {
    type: 'integer',
    default: 1000,
    min: 10,
    max: 3_600_000,
    group: 'experiments',
    description: 'how often canary counters are written and canaries evaluated',
  },
  FERRY_SHADOW_FLUSH_MS: {
    type: 'integer',
    default: 5000,
    min: 10,
    max: 3_600_000,
    group: 'experiments',
    description: 'how often shadow counters are written',
  },
  FERRY_BATCH_LOCK_MS: {
    type: 'integer',
    default: 30_000,
    min: 1000,
    max: 3_600_000,
    group: 'batch',
    description: 'a distributed chunk whose worker stops renewing its lock this long is redone elsewhere',
  },
  FERRY_LOG_LEVEL: {
    type: 'enum',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    default: 'info',
    group: 'logging',
    description: "the server's log level",
  },
  FERRY_LOG_FORMAT: {
    type: 'enum',
    values: ['auto', 'pretty', 'json'],
    default: 'auto',
    group: 'logging',
    description: '`auto`: readable lines on a terminal, JSON lines otherwise; `pretty` or `json` to choose',
  },
  FERRY_ACCESS_LOG_SAMPLE: {
    type: 'number',
    default: 0,
    min: 0,
    max: 1,
    group: 'logging',
    description: 'share of requests written to the access log (0: off; `ferry serve --access-log` sets 1)',
  },
  FERRY_DEBUG: {
    type: 'boolean',
    default: false,
    group: 'logging',
    description: 'the CLI prints the stack of an internal error (`FERRY_INTERNAL`) after its one line',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];
