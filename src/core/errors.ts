/**
 * Every error Ferry raises on purpose carries a stable code (`FERRY_<AREA>_<WHAT>`), an HTTP status
 * and optional details. Tests and callers branch on `code`, never on message text.
 */
export type ErrorDetails = Record<string, unknown>;

export class FerryError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: ErrorDetails;

  constructor(
    code: string,
    message: string,
    opts: { status?: number; details?: ErrorDetails; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'FerryError';
    this.code = code;
    this.status = opts.status ?? 500;
    this.details = opts.details ?? {};
  }

  toJSON(): { error: { code: string; message: string; details: ErrorDetails } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/** The catalogue of codes, so a typo in a code is a type error and the README can list them. */
export const ErrorCode = {
  CONFIG_INVALID: 'FERRY_CONFIG_INVALID',
  DATA_NOT_FOUND: 'FERRY_DATA_NOT_FOUND',
  DATA_UNREACHABLE: 'FERRY_DATA_UNREACHABLE',
  DATA_EMPTY: 'FERRY_DATA_EMPTY',
  DATA_ENCODING: 'FERRY_DATA_ENCODING',
  DATA_PARSE: 'FERRY_DATA_PARSE',
  DATA_MISSING_COLUMN: 'FERRY_DATA_MISSING_COLUMN',
  DATA_EMPTY_TEXT: 'FERRY_DATA_EMPTY_TEXT',
  DATA_DUPLICATE_ID: 'FERRY_DATA_DUPLICATE_ID',
  DATA_UNKNOWN_LABEL: 'FERRY_DATA_UNKNOWN_LABEL',
  DATA_TOO_SMALL: 'FERRY_DATA_TOO_SMALL',
  MODEL_INVALID_ARTIFACT: 'FERRY_MODEL_INVALID_ARTIFACT',
  MODEL_UNKNOWN_KIND: 'FERRY_MODEL_UNKNOWN_KIND',
  MODEL_INVALID_INPUT: 'FERRY_MODEL_INVALID_INPUT',
  REGISTRY_INVALID_REF: 'FERRY_REGISTRY_INVALID_REF',
  REGISTRY_NOT_FOUND: 'FERRY_REGISTRY_NOT_FOUND',
  REGISTRY_INVALID_NAME: 'FERRY_REGISTRY_INVALID_NAME',
  REGISTRY_CHECKSUM_MISMATCH: 'FERRY_REGISTRY_CHECKSUM_MISMATCH',
  REGISTRY_ARTIFACT_MISSING: 'FERRY_REGISTRY_ARTIFACT_MISSING',
  REGISTRY_NOT_PROMOTED: 'FERRY_REGISTRY_NOT_PROMOTED',
  SERVING_OVERLOADED: 'FERRY_SERVING_OVERLOADED',
  SERVING_UNKNOWN_MODEL: 'FERRY_SERVING_UNKNOWN_MODEL',
  SERVING_NOT_READY: 'FERRY_SERVING_NOT_READY',
  HTTP_INVALID_REQUEST: 'FERRY_HTTP_INVALID_REQUEST',
  HTTP_UNAUTHORIZED: 'FERRY_HTTP_UNAUTHORIZED',
  HTTP_NOT_FOUND: 'FERRY_HTTP_NOT_FOUND',
  HTTP_PAYLOAD_TOO_LARGE: 'FERRY_HTTP_PAYLOAD_TOO_LARGE',
  HTTP_TIMEOUT: 'FERRY_HTTP_TIMEOUT',
  SERVING_DEADLINE: 'FERRY_SERVING_DEADLINE',
  SERVING_SHUTTING_DOWN: 'FERRY_SERVING_SHUTTING_DOWN',
  SERVING_REQUEST_TOO_LARGE: 'FERRY_SERVING_REQUEST_TOO_LARGE',
  /** `ferry serve` could not listen: another process holds the port (500; a start error, not an answer). */
  SERVING_PORT_IN_USE: 'FERRY_SERVING_PORT_IN_USE',
  /** `serve --workers N`: workers kept exiting before listening without saying why (500). */
  SERVING_NO_WORKER: 'FERRY_SERVING_NO_WORKER',
  DB_LOCKED: 'FERRY_DB_LOCKED',
  DB_UNAVAILABLE: 'FERRY_DB_UNAVAILABLE',
  DB_ERROR: 'FERRY_DB_ERROR',
  DB_SCHEMA_TOO_NEW: 'FERRY_DB_SCHEMA_TOO_NEW',
  KV_UNAVAILABLE: 'FERRY_KV_UNAVAILABLE',
  KV_ERROR: 'FERRY_KV_ERROR',
  KV_INVALID_TTL: 'FERRY_KV_INVALID_TTL',
  KV_VALUE_TOO_LARGE: 'FERRY_KV_VALUE_TOO_LARGE',
  CLI_USAGE: 'FERRY_CLI_USAGE',
  /** A file a command would write cannot or must not be written there (checked before any work). */
  CLI_OUTPUT_PATH: 'FERRY_CLI_OUTPUT_PATH',
  V2_INVALID_REQUEST: 'FERRY_V2_INVALID_REQUEST',
  BATCH_INVALID_ID: 'FERRY_BATCH_INVALID_ID',
  BATCH_INVALID_PREDICTION: 'FERRY_BATCH_INVALID_PREDICTION',
  BATCH_NOT_FOUND: 'FERRY_BATCH_NOT_FOUND',
  BATCH_INPUT_NOT_FOUND: 'FERRY_BATCH_INPUT_NOT_FOUND',
  BATCH_INPUT_UNREADABLE: 'FERRY_BATCH_INPUT_UNREADABLE',
  BATCH_INPUT_INVALID: 'FERRY_BATCH_INPUT_INVALID',
  BATCH_MISSING_COLUMN: 'FERRY_BATCH_MISSING_COLUMN',
  BATCH_TOO_MANY_ERRORS: 'FERRY_BATCH_TOO_MANY_ERRORS',
  BATCH_JOB_NOT_FOUND: 'FERRY_BATCH_JOB_NOT_FOUND',
  BATCH_JOB_MISMATCH: 'FERRY_BATCH_JOB_MISMATCH',
  EXPERIMENT_INVALID_WEIGHTS: 'FERRY_EXPERIMENT_INVALID_WEIGHTS',
  EXPERIMENT_INVALID_STATS_INPUT: 'FERRY_EXPERIMENT_INVALID_STATS_INPUT',
  EXPERIMENT_INVALID_BANDIT_CONFIG: 'FERRY_EXPERIMENT_INVALID_BANDIT_CONFIG',
  EXPERIMENT_INVALID: 'FERRY_EXPERIMENT_INVALID',
  EXPERIMENT_NOT_FOUND: 'FERRY_EXPERIMENT_NOT_FOUND',
  EXPERIMENT_CONFLICT: 'FERRY_EXPERIMENT_CONFLICT',
  EXPERIMENT_NOT_RUNNING: 'FERRY_EXPERIMENT_NOT_RUNNING',
  EXPERIMENT_INVALID_SHADOW_CONFIG: 'FERRY_EXPERIMENT_INVALID_SHADOW_CONFIG',
  EXPERIMENT_INVALID_CANARY_CONFIG: 'FERRY_EXPERIMENT_INVALID_CANARY_CONFIG',
  EXPERIMENT_CANARY_TRANSITION: 'FERRY_EXPERIMENT_CANARY_TRANSITION',
  EXPERIMENT_INVALID_STATE: 'FERRY_EXPERIMENT_INVALID_STATE',
  INTERNAL: 'FERRY_INTERNAL',
} as const;
export type ErrorCodeName = (typeof ErrorCode)[keyof typeof ErrorCode];

export function isFerryError(e: unknown, code?: string): e is FerryError {
  return e instanceof FerryError && (code === undefined || e.code === code);
}

/** Turns anything thrown into a FerryError without losing the original as `cause`. */
export function toFerryError(e: unknown): FerryError {
  if (e instanceof FerryError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new FerryError(ErrorCode.INTERNAL, `unexpected error: ${message}`, { status: 500, cause: e });
}
