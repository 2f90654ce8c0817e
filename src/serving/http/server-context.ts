import type { ModelRegistry } from '../../registry/model-registry.js';
import type { ServingMetrics } from '../metrics.js';
import type { PredictionService } from '../prediction-service.js';

export interface ServingLimits {
  /** Bytes per request body. */
  bodyLimit: number;
  /** Items per request (course batch form and v2 infer). */
  maxItems: number;
  /** Characters per title or description. */
  maxStringLength: number;
  /** A request not answered by then gets 503 (and its queued work is dropped). */
  requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServingLimits = {
  bodyLimit: 1024 * 1024,
  maxItems: 1000,
  maxStringLength: 20_000,
  requestTimeoutMs: 10_000,
};

/** Everything the routes need; built by the wiring (serve command or tests). */
export interface ServerContext {
  service: PredictionService;
  registry: ModelRegistry;
  metrics: ServingMetrics;
  limits: ServingLimits;
  /** Bearer token of the admin routes; undefined disables them (401). */
  adminToken: string | undefined;
  serverName: string;
  serverVersion: string;
}
