import type { ExperimentApi } from '../../ports/experiment-api.js';
import type { ModelRegistry } from '../../registry/model-registry.js';
import type { FeatureAccess } from '../feature-access.js';
import type { ServingMetrics } from '../metrics.js';
import type { PredictionService } from '../prediction-service.js';
import type { ServingLimits } from '../serving-config.js';
import type { StoredPredictionService } from '../stored-prediction-service.js';
import type { VersionAccess } from '../version-access.js';
import type { BatchJobRoutesDeps } from './routes/batch-job-routes.js';
import type { FeatureStatusDeps } from './routes/feature-status-routes.js';
import type { FeedbackRoutesDeps } from './routes/feedback-routes.js';
import type { MonitoringRoutesDeps } from './routes/monitoring-routes.js';
import type { StreamRoutesDeps } from './routes/stream-routes.js';

// The limits are settings (serving-config.ts, defaults in the settings module); re-exported for tests.
export type { ServingLimits } from '../serving-config.js';

/**
 * What the routes read and change in the registry: the model registry itself for `ferry serve`,
 * or a read-only stand-in over one bundled version where no database is reachable (AWS Lambda,
 * src/lambda/bundled-registry.ts).
 */
export type ServingRegistry = Pick<
  ModelRegistry,
  'list' | 'listModels' | 'listVersions' | 'aliases' | 'aliasEvents' | 'setAlias' | 'rollback'
>;

/** Everything the routes need; built by the wiring (serve command or tests). */
export interface ServerContext {
  service: PredictionService;
  registry: ServingRegistry;
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
  /** Stored (batch) predictions; when set, the /v1/predictions/… lookup routes are served. */
  storedPredictions?: StoredPredictionService;
  /**
   * Experiments; when set, the /v1/experiments routes are served. `flush(name)` writes this
   * process's exposures and its shadow and canary counters before an analysis is read.
   */
  experiments?: {
    service: ExperimentApi;
    flush?: (name: string) => Promise<void>;
  };
  /**
   * POST /v1/experiments/:id/events needs `Authorization: Bearer` with this token or the admin token,
   * unless `eventsAnonymous` (outcomes change the analysis that others read).
   */
  eventsToken?: string | undefined;
  eventsAnonymous?: boolean;
  /**
   * Bearer token that lets POST /v1/predictions/… write its live answer back to the store (the
   * admin token does too). Anonymous callers get the live answer, and nothing is written.
   */
  predictionsToken?: string | undefined;
  /**
   * The feature store; when set, POST /v1/features/online is served and `/predict` and v2 infer
   * answer requests that name only an entity. `token`: FERRY_FEATURES_TOKEN (see feature-routes.ts).
   */
  features?: {
    access: FeatureAccess;
    token?: string | undefined;
    /** Join keys `/predict` accepts at the top level (those of the service naming the model at start). */
    joinKeys?: readonly string[];
    /** What GET /v1/features/status and GET /v1/streams/status read (see feature-status-routes.ts). */
    status?: Omit<FeatureStatusDeps, 'access'>;
  };
  /** The stream transport; when set (with `features`), POST /v1/streams/{stream}/events is served. */
  streams?: Omit<StreamRoutesDeps, 'access'>;
  /** Delayed labels; when set, POST /v1/feedback is served (FERRY_FEEDBACK_TOKEN or the admin token). */
  feedback?: FeedbackRoutesDeps;
  /** Drift reports; when set, GET /v1/monitoring/{model} is served (see monitoring-routes.ts). */
  monitoring?: MonitoringRoutesDeps;
  /** Origins allowed cross-origin (FERRY_CORS_ORIGINS; `*` for any); empty or absent: CORS off. */
  corsOrigins?: readonly string[];
  /**
   * The batch jobs of the server's database; when set, GET /v1/batch/jobs and /v1/batch/jobs/{jobId}
   * are served (admin token, see routes/batch-job-routes.ts).
   */
  batchJobs?: BatchJobRoutesDeps;
  /** The dashboard's built files; when set, /ui is served (see routes/ui-routes.ts). */
  ui?: { root: string };
  /** Share of requests with an access-log line (FERRY_ACCESS_LOG_SAMPLE, `--access-log`: 1); absent: 0, off. */
  accessLogSample?: number;
}
