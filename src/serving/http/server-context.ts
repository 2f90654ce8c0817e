import { DEFAULT_MAX_STRING_LENGTH } from '../../model/validate-input.js';
import type { ExperimentApi } from '../../ports/experiment-api.js';
import type { StoredPredictionStore } from '../../ports/prediction-store.js';
import type { ModelRegistry } from '../../registry/model-registry.js';
import type { ServingMetrics } from '../metrics.js';
import type { PredictionService } from '../prediction-service.js';
import type { VersionAccess } from '../version-access.js';

export interface ServingLimits {
  /** Bytes per request body. */
  bodyLimit: number;
  /** Items per request (course batch form and v2 infer). */
  maxItems: number;
  /** Characters per title or description. */
  maxStringLength: number;
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

export const DEFAULT_LIMITS: ServingLimits = {
  bodyLimit: 1024 * 1024,
  maxItems: 1000,
  maxStringLength: DEFAULT_MAX_STRING_LENGTH,
  requestTimeoutMs: 10_000,
  maxConnections: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 0,
};

/** `write-back`: live answers of POST /v1/predictions/… are upserted into the store; `read-only`: never. */
export type StoredPredictionPolicy = 'write-back' | 'read-only';

export interface StoredPredictionSettings {
  /** A stored prediction older than this (ms) is not served by POST; it is predicted again. */
  maxAgeMs: number;
  policy: StoredPredictionPolicy;
  /** How long a reading of the staleness gauge is reused (ms); default 5000. */
  stalenessCacheMs?: number;
}

export const DEFAULT_STORED_SETTINGS: StoredPredictionSettings = {
  maxAgeMs: 7 * 86_400_000,
  policy: 'write-back',
};

/** Everything the routes need; built by the wiring (serve command or tests). */
export interface ServerContext {
  service: PredictionService;
  registry: ModelRegistry;
  metrics: ServingMetrics;
  limits: ServingLimits;
  /** Bearer token of the admin routes; undefined disables them (401). */
  adminToken: string | undefined;
  /**
   * Which explicit versions (`/v2/models/m/versions/N/…`) callers without the admin token may ask
   * for; when absent, every registered version is served on demand (tests of the routes alone).
   */
  versionAccess?: VersionAccess;
  serverName: string;
  serverVersion: string;
  /** The prediction store; when set, the /v1/predictions/… lookup routes are served. */
  predictionStore?: StoredPredictionStore;
  /** How those routes treat stored predictions; DEFAULT_STORED_SETTINGS when omitted. */
  storedPredictions?: StoredPredictionSettings;
  /**
   * Experiments; when set, the /v1/experiments routes are served. `flush(name)` writes this
   * process's exposures and its shadow and canary counters before an analysis is read.
   */
  experiments?: {
    service: ExperimentApi;
    flush?: (name: string) => Promise<void>;
  };
  /**
   * When set, POST /v1/experiments/:id/events needs `Authorization: Bearer` with this token (or the
   * admin token); when unset, events need no token (their body is strictly validated).
   */
  eventsToken?: string | undefined;
  /**
   * Bearer token that lets POST /v1/predictions/… write its live answer back to the store (the
   * admin token does too). Anonymous callers get the live answer, and nothing is written.
   */
  predictionsToken?: string | undefined;
  /** Origins allowed cross-origin (FERRY_CORS_ORIGINS; `*` for any); empty or absent: CORS off. */
  corsOrigins?: readonly string[];
}
