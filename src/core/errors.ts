/**
 * Every error Ferry raises on purpose carries a stable code (`FERRY_<AREA>_<WHAT>`), the HTTP status
 * fixed for that code in ERROR_CODES, and optional details. Tests and callers branch on `code`, never
 * on message text. The codes are an API, as fastify's are: a client may rely on a code always
 * coming with the same status, and the README's table is generated from ERROR_CODES
 * (`npm run errors:table`; test/unit/error-codes.test.ts fails when it is stale).
 */
export type ErrorDetails = Record<string, unknown>;

interface ErrorCodeSpec {
  /** The status of every answer with this code; codes of start and CLI errors that never reach an
   * HTTP client keep a status anyway (500 for the operator's side, 400 for the caller's). */
  readonly status: number;
  /** When the code is raised, as the README's table shows it (Markdown). */
  readonly description: string;
}

/** The catalogue: one row per code, the single place a code's status is decided. */
export const ERROR_CODES = {
  FERRY_CONFIG_INVALID: {
    status: 500,
    description:
      'a setting (`FERRY_*` variable, flag or URL) the operator gave is malformed or out of range; a start error, the fault of the configuration and never of an HTTP client',
  },
  FERRY_DATA_NOT_FOUND: { status: 400, description: 'a training or evaluation file that does not exist' },
  FERRY_DATA_UNREACHABLE: { status: 502, description: 'a dataset URL that cannot be downloaded' },
  FERRY_DATA_EMPTY: { status: 400, description: 'empty file, or a header with no rows' },
  FERRY_DATA_ENCODING: { status: 400, description: 'bytes that are not UTF-8 (offset and line)' },
  FERRY_DATA_PARSE: { status: 400, description: 'malformed CSV (unbalanced quotes, wrong field count)' },
  FERRY_DATA_MISSING_COLUMN: {
    status: 400,
    description:
      '`title`, `description` or `tag` missing (suggests the rename for `desc`, `label`, …), or an empty id',
  },
  FERRY_DATA_EMPTY_TEXT: {
    status: 400,
    description: 'rows whose title and description are both empty (line numbers listed)',
  },
  FERRY_DATA_DUPLICATE_ID: { status: 400, description: 'the same id twice (both line numbers)' },
  FERRY_DATA_UNKNOWN_LABEL: {
    status: 400,
    description: 'an empty tag, or in an evaluation set a tag the model does not know',
  },
  FERRY_DATA_TOO_SMALL: { status: 400, description: 'training data with fewer than 2 classes' },
  FERRY_MODEL_INVALID_ARTIFACT: {
    status: 500,
    description:
      'a stored artifact that does not decode: not a ferry-model document, or a parameter out of its bounds (n-gram ranges, class count, tensor lengths, non-finite values)',
  },
  FERRY_MODEL_UNKNOWN_KIND: { status: 500, description: 'an artifact of a model kind Ferry does not know' },
  FERRY_MODEL_INVALID_INPUT: {
    status: 400,
    description:
      'predict with an empty text, one with no letter or digit, one over the length limit, or one holding U+0000',
  },
  FERRY_MODEL_INVALID_SIGNATURE: {
    status: 400,
    description:
      'a signature (given at registration, read from an ONNX graph or a remote server) that is malformed: unknown datatype, bad shape, a name twice, no inputs',
  },
  FERRY_MODEL_INVALID_TENSOR: {
    status: 400,
    description:
      'an input tensor that does not match the model signature: unknown or missing name, wrong datatype, shape or element count, a value out of its datatype range, NaN/Inf where the signature does not allow them; the message names the tensor. Also an input a `remote-v2` server refused with another 4xx (its message passed on, hosts blanked)',
  },
  FERRY_MODEL_TENSOR_TOO_LARGE: {
    status: 413,
    description: 'input tensors over `FERRY_MAX_TENSOR_BYTES`, refused before their data is decoded',
  },
  FERRY_MODEL_BACKEND_MISSING: {
    status: 501,
    description:
      'a model kind whose optional package is not installed (`onnxruntime-node` for `onnx`): the message names the package to install',
  },
  FERRY_MODEL_LOAD_FAILED: {
    status: 500,
    description:
      'a model that cannot be opened: a corrupt or non-ONNX file, an unsupported ONNX operator, a custom module that throws at load or does not export a model, a `remote-v2` model its server does not know (or whose metadata it refuses)',
  },
  FERRY_MODEL_PREDICT_FAILED: {
    status: 502,
    description:
      "a model's own failure at predict time: a custom model that throws, an ONNX run that fails, outputs that do not match the signature (a `remote-v2` server's answer that is not a valid v2 response for the signature, or over 64 MiB, included)",
  },
  FERRY_MODEL_TIMEOUT: {
    status: 504,
    description:
      'a model call (custom predict, remote server) that did not answer within its per-call timeout',
  },
  FERRY_MODEL_REMOTE_UNAVAILABLE: {
    status: 503,
    description:
      'a `remote-v2` server that is down, answered 5xx (or 401, 403, 404, 408, 429), or whose circuit breaker is open (with `Retry-After`)',
  },
  FERRY_MODEL_WRONG_KIND: {
    status: 400,
    description:
      'a text-only route or command (`/predict`, `ferry predict`, `ferry evaluate`, the training promotion gate) used with a model of another kind; the message names the v2 route to use',
  },
  FERRY_MODEL_CHECK_FAILED: {
    status: 400,
    description:
      '`ferry models check`: a custom model that fails a conformance check (the report lists each check)',
  },
  FERRY_REGISTRY_INVALID_REF: {
    status: 400,
    description: 'a malformed model reference; a version outside 1..2147483647',
  },
  FERRY_REGISTRY_INVALID_NAME: { status: 400, description: 'a malformed model or alias name' },
  FERRY_REGISTRY_INVALID_META: {
    status: 400,
    description:
      'registering a version with malformed metadata (an empty `kind`, a tag that is not a string, params or metrics that are not JSON objects): nothing is stored',
  },
  FERRY_REGISTRY_NOT_FOUND: {
    status: 404,
    description:
      "a model, alias or version that does not exist (the message lists what does; on the CLI it also names the registry, e.g. `(registry: sqlite:/srv/app/.ferry/ferry.db)`, as do the CLI's other not-found errors); `models list <name>` and `GET /v1/models/{name}` of an unknown model too",
  },
  FERRY_REGISTRY_CHECKSUM_MISMATCH: {
    status: 500,
    description:
      'a tampered or truncated artifact (also a file of the wrong size, refused from its size before it is read)',
  },
  FERRY_REGISTRY_ARTIFACT_MISSING: {
    status: 500,
    description: 'a deleted artifact, or a directory in its place',
  },
  FERRY_REGISTRY_UNLOADABLE_VERSION: {
    status: 409,
    description:
      "an alias move (`models alias`, `models rollback`, `train --promote`, `PUT /v1/models/{name}/aliases/{alias}`, a canary promotion) to a version whose artifact is missing, altered or does not decode: refused before it commits, the alias unchanged; `details.reason` names the artifact's error",
  },
  FERRY_REGISTRY_ALIAS_MOVED: {
    status: 409,
    description:
      'an alias move or rollback that names where the alias points now (`from` in `PUT /v1/models/{name}/aliases/{alias}` or `POST …/rollback`, as the dashboard sends after its confirmation) when the alias has moved since: refused, the alias unchanged; `details` has the version it points at now',
  },
  FERRY_SERVING_UNKNOWN_MODEL: {
    status: 404,
    description: 'an unknown model or version (or one not released to the caller, answered alike)',
  },
  FERRY_SERVING_OVERLOADED: { status: 503, description: 'a full queue (with `Retry-After`)' },
  FERRY_SERVING_DEADLINE: {
    status: 503,
    description: 'a deadline (`FERRY_REQUEST_TIMEOUT_MS`) that cannot be met (with `Retry-After`)',
  },
  FERRY_SERVING_NOT_READY: {
    status: 503,
    description:
      "`GET /metrics` under `--workers N` when the metrics of every worker could not be gathered (one worker's numbers are never passed off as the server's)",
  },
  FERRY_SERVING_ON_DEMAND_LIMIT: {
    status: 503,
    description:
      'an explicit version larger than `FERRY_ON_DEMAND_MAX_BYTES`, or more new on-demand loads than `FERRY_ON_DEMAND_LOADS_PER_MINUTE` (with `Retry-After` for the rate)',
  },
  FERRY_SERVING_SHUTTING_DOWN: { status: 503, description: 'a request that arrives while the server drains' },
  FERRY_SERVING_REQUEST_TOO_LARGE: {
    status: 413,
    description: 'a request with more items than the batching queue can ever hold',
  },
  FERRY_SERVING_PORT_IN_USE: {
    status: 500,
    description:
      '`ferry serve` cannot listen: another process holds the port (a start error of the CLI, never an HTTP answer)',
  },
  FERRY_SERVING_NO_WORKER: {
    status: 500,
    description:
      "`ferry serve --workers N`: workers kept exiting before listening without reporting an error (otherwise the workers' own code is printed)",
  },
  FERRY_HTTP_INVALID_REQUEST: {
    status: 400,
    description:
      'an HTTP request that fails validation: a body that does not match the schema, bad JSON, an identifier too long or holding U+0000, a malformed HTTP request',
  },
  FERRY_HTTP_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    description: 'a body that is not `application/json`',
  },
  FERRY_HTTP_PAYLOAD_TOO_LARGE: { status: 413, description: 'a body larger than `FERRY_BODY_LIMIT`' },
  FERRY_HTTP_URI_TOO_LONG: { status: 414, description: 'a path parameter longer than the router accepts' },
  FERRY_HTTP_HEADERS_TOO_LARGE: {
    status: 431,
    description: 'request headers larger than the limit (the connection is closed)',
  },
  FERRY_HTTP_UNAUTHORIZED: {
    status: 401,
    description: 'a missing or wrong bearer token (or any token when the server has none set)',
  },
  FERRY_HTTP_NOT_FOUND: { status: 404, description: 'no route for the method and path' },
  FERRY_UI_NOT_BUILT: {
    status: 503,
    description: 'the dashboard (`/ui`) was asked for but its files are not built: run `npm run build`',
  },
  FERRY_HTTP_METHOD_NOT_ALLOWED: {
    status: 405,
    description:
      'a method the path does not serve, answered with `Allow` (`GET /predict`; `OPTIONS` unless it is an allowed CORS preflight)',
  },
  FERRY_HTTP_CORS_DENIED: {
    status: 403,
    description:
      'a CORS preflight from an origin not in `FERRY_CORS_ORIGINS`, or for a method the path does not serve',
  },
  FERRY_HTTP_TIMEOUT: {
    status: 408,
    description:
      "the request's headers and body were not received within `FERRY_REQUEST_TIMEOUT_MS` (the connection is closed)",
  },
  FERRY_V2_INVALID_REQUEST: {
    status: 400,
    description:
      'an Open Inference Protocol request whose tensors, shapes or datatypes are wrong (`{"error": "..."}`)',
  },
  FERRY_DB_LOCKED: { status: 503, description: 'the database is locked past its timeout' },
  FERRY_DB_UNAVAILABLE: { status: 503, description: 'the database is down or unreachable' },
  FERRY_DB_ERROR: {
    status: 500,
    description: 'a database statement failed, or returned what Ferry cannot read',
  },
  FERRY_DB_SCHEMA_TOO_NEW: {
    status: 500,
    description: 'the database was migrated by a newer Ferry than this one (nothing is changed)',
  },
  FERRY_KV_UNAVAILABLE: { status: 503, description: 'the key-value store (Redis) is down or unreachable' },
  FERRY_KV_ERROR: { status: 500, description: 'a key-value store command failed' },
  FERRY_KV_INVALID_TTL: {
    status: 500,
    description: 'a key-value entry written with a TTL that is not a positive number of milliseconds (a bug)',
  },
  FERRY_KV_VALUE_TOO_LARGE: {
    status: 500,
    description: "a key-value entry larger than the in-memory store's whole budget",
  },
  FERRY_CLI_USAGE: {
    status: 400,
    description:
      'a bad flag or argument value, an unknown option, a missing argument or required option (exit 2), e.g. `ferry models alias tagifai production abc`',
  },
  FERRY_CLI_OUTPUT_PATH: {
    status: 400,
    description:
      'a file a command would write (`--rejects-fp`, `--results-fp`, `--prediction-log jsonl:`) is an input of the command (same file, whatever the spelling or link), a directory, a dangling symlink, not a regular file, under `/proc`, `/sys` or `/dev`, below a file, or in a directory this user cannot write (exit 2); checked before any work, so nothing was computed, stored or promoted',
  },
  FERRY_BATCH_INVALID_ID: {
    status: 400,
    description: 'an entity or job id that is empty, too long or holds U+0000',
  },
  FERRY_BATCH_INVALID_OPTIONS: {
    status: 400,
    description:
      'a batch job asked with a chunk size below 1 or a negative error budget, or a job list asked with a limit, offset or status out of range',
  },
  FERRY_BATCH_INVALID_PREDICTION: {
    status: 400,
    description: 'a stored prediction written back that is not one the model could have made',
  },
  FERRY_BATCH_NOT_FOUND: { status: 404, description: 'no stored prediction for that model and entity' },
  FERRY_BATCH_INPUT_NOT_FOUND: {
    status: 400,
    description: 'a batch input file that does not exist: nothing is written',
  },
  FERRY_BATCH_INPUT_UNREADABLE: {
    status: 400,
    description:
      'a batch input that cannot be read (a directory, no permission, a failing query): nothing is written',
  },
  FERRY_BATCH_INPUT_INVALID: {
    status: 400,
    description: 'a batch input that is not CSV or JSON lines as announced: nothing is written',
  },
  FERRY_BATCH_MISSING_COLUMN: {
    status: 400,
    description: 'a batch input without an `id`, `title` or `description` column: nothing is written',
  },
  FERRY_BATCH_TOO_MANY_ERRORS: {
    status: 400,
    description: 'more rejected rows than `--max-errors`: the job stops, keeping what it wrote',
  },
  FERRY_BATCH_JOB_NOT_FOUND: { status: 404, description: 'no batch job with that id' },
  FERRY_BATCH_JOB_MISMATCH: {
    status: 409,
    description: 'a job id reused with another model, input or chunk size',
  },
  FERRY_EXPERIMENT_INVALID: {
    status: 400,
    description:
      "a malformed experiment or event (a numeric value outside the metric's bounds, an `at` outside the experiment's life ± 5 min), an unknown field, an arm on a version or alias the registry does not have, an exclusion without a selection or reason",
  },
  FERRY_EXPERIMENT_INVALID_WEIGHTS: {
    status: 400,
    description: 'weights negative or not summing to 1 ± 1e-9',
  },
  FERRY_EXPERIMENT_INVALID_STATS_INPUT: {
    status: 400,
    description: 'counts, weights or samples a statistical test cannot use (e.g. one arm, all weights zero)',
  },
  FERRY_EXPERIMENT_INVALID_BANDIT_CONFIG: { status: 400, description: 'bad bandit settings' },
  FERRY_EXPERIMENT_INVALID_SHADOW_CONFIG: { status: 400, description: 'bad shadow settings' },
  FERRY_EXPERIMENT_INVALID_CANARY_CONFIG: {
    status: 400,
    description: 'bad canary settings, or a canary whose candidate is already the production version',
  },
  FERRY_EXPERIMENT_NOT_FOUND: { status: 404, description: 'no experiment by that name' },
  FERRY_EXPERIMENT_CONFLICT: {
    status: 409,
    description: 'a name already used, an overlapping experiment on the model, a status change not allowed',
  },
  FERRY_EXPERIMENT_NOT_RUNNING: {
    status: 409,
    description: 'an event for a stopped or concluded experiment',
  },
  FERRY_EXPERIMENT_CANARY_TRANSITION: {
    status: 409,
    description: 'a canary step (pause, resume, promote, abort) its current state does not allow',
  },
  FERRY_EXPERIMENT_INVALID_STATE: {
    status: 500,
    description: "an experiment's persisted state (counters, histograms) that does not parse",
  },
  FERRY_FEATURES_INVALID: {
    status: 400,
    description:
      'a feature definition `ferry features apply` refuses (unknown type, duplicate name, TTL of 0, a source that does not exist), named by file, line and field; nothing is changed',
  },
  FERRY_FEATURES_NOT_FOUND: {
    status: 404,
    description: 'an unknown feature, feature view, entity or feature service (the known ones are listed)',
  },
  FERRY_FEATURES_SOURCE: {
    status: 400,
    description:
      'a feature source that cannot be read (missing file, failing query, no event-time column, bad event time)',
  },
  FERRY_FEATURES_INVALID_REQUEST: {
    status: 400,
    description: 'an online read or training-set request with a missing, malformed or oversized entity list',
  },
  FERRY_FEATURES_NOT_APPLIED: {
    status: 404,
    description:
      'a feature status asked of a server where no feature definitions are applied (`ferry features apply` first)',
  },
  FERRY_FEATURES_UNAVAILABLE: {
    status: 503,
    description: 'the online feature store (Redis or the database) is down or unreachable',
  },
  FERRY_STREAM_INVALID: {
    status: 400,
    description: 'a stream or pipeline definition, or a stream name, that is malformed',
  },
  FERRY_STREAM_NOT_FOUND: {
    status: 404,
    description: 'an unknown stream or pipeline (the known ones are listed)',
  },
  FERRY_STREAM_EVENT_INVALID: {
    status: 400,
    description: 'a published event without an id, key or event time, with a wrong type, or not JSON',
  },
  FERRY_STREAM_EVENT_TOO_LARGE: {
    status: 413,
    description: 'a published event larger than `FERRY_STREAM_MAX_EVENT_BYTES`',
  },
  FERRY_STREAM_NONE: {
    status: 404,
    description:
      'a stream status asked of a server with no stream: no stream source applied and none in the transport',
  },
  FERRY_STREAM_UNAVAILABLE: {
    status: 503,
    description: 'the stream transport (NATS JetStream or the embedded log) is down or unreachable',
  },
  FERRY_MONITOR_INVALID: {
    status: 400,
    description:
      'a monitoring request or setting that is malformed: a window that is not a duration, `--since` after `--until`, an unknown statistic, a bad alert rule',
  },
  FERRY_MONITOR_NO_REFERENCE: {
    status: 404,
    description:
      'a model version with no reference profile to compare with (`ferry monitor profile` makes one)',
  },
  FERRY_MONITOR_SOURCE: {
    status: 400,
    description:
      'the prediction log cannot be read for monitoring (it is off, or a JSONL directory rather than the database)',
  },
  FERRY_MONITOR_DETECTOR_INPUT: {
    status: 400,
    description: 'a drift detector fed a value that is not a finite number (NaN, Infinity)',
  },
  FERRY_MONITOR_WEBHOOK: {
    status: 502,
    description: 'the alert webhook refused or did not answer after its retries (the alert is stored anyway)',
  },
  FERRY_FEEDBACK_INVALID: {
    status: 400,
    description:
      'a feedback body that is malformed: neither or both of `request_id` and `entity_id`, an empty or oversized label, an item index out of range',
  },
  FERRY_FEEDBACK_UNKNOWN_LABEL: {
    status: 422,
    description: "a label that is not one of the model's classes (they are listed)",
  },
  FERRY_FEEDBACK_CONFLICT: {
    status: 409,
    description:
      'a second, different label for a prediction that already has one (the same label again is accepted)',
  },
  FERRY_FEEDBACK_TOO_LARGE: {
    status: 413,
    description: 'more labels in one request than `FERRY_FEEDBACK_MAX_ITEMS`',
  },
  FERRY_FEEDBACK_RATE_LIMITED: {
    status: 429,
    description:
      'more feedback requests per second than `FERRY_FEEDBACK_RATE_LIMIT` from one client (`Retry-After` says when)',
  },
  FERRY_RETRAIN_REFUSED: {
    status: 422,
    description:
      'the retraining gate refused the candidate (its figures and the failing rule are in the details); nothing was promoted',
  },
  FERRY_RETRAIN_BUSY: {
    status: 409,
    description: 'a retraining of the same model is already running (one at a time across replicas)',
  },
  FERRY_RETRAIN_UNSUPPORTED: {
    status: 400,
    description: 'a model kind Ferry cannot retrain by itself (give `--trainer`, a command that trains it)',
  },
  FERRY_LEARNER_INVALID: {
    status: 400,
    description:
      'an online learner setting or labeled event that is malformed (unknown class, empty text, bad rate)',
  },
  FERRY_OPTIMIZE_INVALID: {
    status: 400,
    description:
      'an optimization or export option out of range or malformed (sparsity outside (0, 1), unknown dtype, a student spec that does not parse, a temperature outside (0, 100]); nothing was registered',
  },
  FERRY_OPTIMIZE_UNSUPPORTED: {
    status: 400,
    description:
      'a model kind (or method) that `ferry optimize` or `ferry models export` cannot handle; the message names the kinds that can',
  },
  FERRY_DEPLOY_INVALID: {
    status: 400,
    description:
      '`ferry deploy render`: an unknown target or a flag out of range (replicas, CPU, memory, image, namespace, secret reference); exit 2, nothing written',
  },
  FERRY_DEPLOY_OUTPUT: {
    status: 409,
    description:
      '`ferry deploy render`: an output directory that holds other files (without `--force`), is a file, or lies under `/proc`, `/sys` or `/dev`; exit 2, nothing written',
  },
  FERRY_INTERNAL: {
    status: 500,
    description:
      'anything unexpected (a bug); clients see `internal error` and the request id, the log has the rest',
  },
} as const satisfies Record<`FERRY_${string}`, ErrorCodeSpec>;

/** The union of codes: a typo in a code is a type error. */
export type ErrorCodeName = keyof typeof ERROR_CODES;

type ShortName<C> = C extends `FERRY_${infer N}` ? N : never;

/** `ErrorCode.CONFIG_INVALID === 'FERRY_CONFIG_INVALID'`: the codes by name, derived from ERROR_CODES. */
export const ErrorCode = Object.freeze(
  Object.fromEntries(Object.keys(ERROR_CODES).map((code) => [code.slice('FERRY_'.length), code])),
) as { readonly [C in ErrorCodeName as ShortName<C>]: C };

export function isErrorCode(code: unknown): code is ErrorCodeName {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

export function statusOf(code: ErrorCodeName): number {
  return ERROR_CODES[code].status;
}

export class FerryError extends Error {
  readonly code: ErrorCodeName;
  /** Always ERROR_CODES[code].status: a code never comes with another status. */
  readonly status: number;
  readonly details: ErrorDetails;

  constructor(code: ErrorCodeName, message: string, opts: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'FerryError';
    this.code = code;
    this.status = statusOf(code);
    this.details = opts.details ?? {};
  }

  toJSON(): { error: { code: ErrorCodeName; message: string; details: ErrorDetails } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export function isFerryError(e: unknown, code?: ErrorCodeName): e is FerryError {
  return e instanceof FerryError && (code === undefined || e.code === code);
}

/** Turns anything thrown into a FerryError without losing the original as `cause`. */
export function toFerryError(e: unknown): FerryError {
  if (e instanceof FerryError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new FerryError(ErrorCode.INTERNAL, `unexpected error: ${message}`, { cause: e });
}
