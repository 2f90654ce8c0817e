/**
 * The contract of `ferry deploy render` (issue 14): every deployment target is a pure function from
 * checked parameters to files. Renderers do no I/O, so the same parameters always give the same
 * bytes: the files committed under `deploy/`, `.github/workflows/` and the repository root are the
 * defaults' rendering, and test/unit/deploy/committed-files.test.ts keeps them in sync.
 */

/** Targets in the order `ferry deploy render --help` lists them. */
export const DEPLOY_TARGETS = [
  'container',
  'kubernetes',
  'kserve',
  'seldon',
  'lambda',
  'systemd',
  'github-actions',
] as const;

export type DeployTarget = (typeof DEPLOY_TARGETS)[number];

/** A key of a Kubernetes Secret (or, outside Kubernetes, the name of an environment file entry). */
export interface SecretRef {
  /** Secret name: a DNS-1123 subdomain. */
  name: string;
  /** Key inside the Secret: `[-._a-zA-Z0-9]+`. */
  key: string;
}

/** Checked parameters (src/deploy/deploy-options.ts makes them from flags); every renderer takes these. */
export interface DeployParams {
  /** Name of the application's objects (Deployment, Service, unit files, function): a DNS-1123 label. */
  appName: string;
  /** The model served: `--model name@alias` (FERRY_MODELS / FERRY_ALIASES of the server). */
  model: { name: string; alias: string };
  /** The container image the manifests run: the one `podman build -t ferry:<version> .` makes by default. */
  image: string;
  /** Serving replicas (Deployment, HPA minimum; the HPA maximum is 4 × this, at least 4). */
  replicas: number;
  /** CPU request per serving container, a Kubernetes quantity (`500m`, `1`, `2`); the limit is the same. */
  cpu: string;
  /** Memory request and limit per serving container, a Kubernetes quantity (`512Mi`, `1Gi`). */
  memory: string;
  /** Kubernetes namespace. */
  namespace: string;
  /** Port the server listens on inside its container or unit (PORT). */
  port: number;
  /** Where the registry database URL (FERRY_DB, postgres://…) comes from. */
  databaseSecret: SecretRef;
  /** Where the admin bearer token (FERRY_ADMIN_TOKEN) comes from. */
  tokenSecret: SecretRef;
  /** Drain time on SIGTERM (FERRY_SHUTDOWN_TIMEOUT_MS); grace periods and stop timeouts are derived from it. */
  shutdownTimeoutMs: number;
  /** Ferry's version (package.json), written into the files' headers and the default image tag. */
  ferryVersion: string;
}

/** One file a target writes; `path` is relative to the output directory, with `/` separators. */
export interface RenderedFile {
  path: string;
  content: string;
  /** POSIX mode; 0o644 when absent (0o755 for scripts). */
  mode?: number;
}

export interface DeployTargetSpec {
  target: DeployTarget;
  /** One line for `--help` and the docs. */
  description: string;
  /** Where `ferry deploy render <target>` writes without `--out`. */
  defaultOut: string;
  /** Where this repository commits the defaults' rendering (kept in sync by a test). */
  committedOut: string;
  render(params: DeployParams): RenderedFile[];
}
