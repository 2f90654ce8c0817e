/**
 * The pieces every Kubernetes-based target (plain manifests, Argo Rollouts, KServe, Seldon) builds
 * Ferry's containers from, so the probes, the security context and the shutdown timing are written
 * once. The image is the container target's: non-root uid 1000, its entrypoint the `ferry` CLI (so
 * `args` are a subcommand and its flags), node but no shell utilities.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { IResourceRequirements } from 'kubernetes-models/v1/ResourceRequirements';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { IVolumeMount } from 'kubernetes-models/v1/VolumeMount';
import type { DeployParams } from '../../deploy-types.js';

/** Ferry's routes the probes call (src/serving/http/routes/v2-routes.ts; a test checks they exist). */
export const READY_PATH = '/v2/health/ready';
export const LIVE_PATH = '/v2/health/live';

/** The image's user (the container target builds it with uid and gid 1000). */
const RUN_AS = 1000;

/** Where FERRY_HOME (scratch: caches, unpacked custom models) lives: an emptyDir. */
export const FERRY_HOME_PATH = '/var/lib/ferry';
/** Where the shared artifact store (FERRY_ARTIFACTS) is mounted: a ReadWriteMany volume. */
export const ARTIFACTS_PATH = '/var/lib/ferry-artifacts';

/**
 * Seconds the preStop hook waits before the kubelet sends SIGTERM: the time for the endpoint
 * controllers and kube-proxy (or the ingress) to stop sending new requests to a terminating pod.
 */
const PRE_STOP_SECONDS = 5;
/** Slack after the drain deadline: the prediction log's last flush and the process's exit. */
const GRACE_MARGIN_SECONDS = 5;

export interface ShutdownTiming {
  preStopSeconds: number;
  /** FERRY_SHUTDOWN_TIMEOUT_MS rounded up to whole seconds. */
  drainSeconds: number;
  /** terminationGracePeriodSeconds: preStop + drain + margin (the kubelet counts preStop in it). */
  graceSeconds: number;
}

export function shutdownTiming(params: DeployParams): ShutdownTiming {
  const drainSeconds = Math.ceil(params.shutdownTimeoutMs / 1000);
  return {
    preStopSeconds: PRE_STOP_SECONDS,
    drainSeconds,
    graceSeconds: PRE_STOP_SECONDS + drainSeconds + GRACE_MARGIN_SECONDS,
  };
}

/** Non-root, nothing writable but the mounted volumes, no privilege, the runtime's seccomp profile. */
export function containerSecurityContext(): ISecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: RUN_AS,
    runAsGroup: RUN_AS,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export function podSecurityContext(): IPodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: RUN_AS,
    runAsGroup: RUN_AS,
    // Volumes (emptyDir, the artifact store) group-owned by the image's group, so uid 1000 can write.
    fsGroup: RUN_AS,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** The two secrets every Ferry process needs: the registry database and the admin token. */
export function secretEnv(params: DeployParams): IEnvVar[] {
  return [
    {
      name: 'FERRY_DB',
      valueFrom: { secretKeyRef: { name: params.databaseSecret.name, key: params.databaseSecret.key } },
    },
    {
      name: 'FERRY_ADMIN_TOKEN',
      valueFrom: { secretKeyRef: { name: params.tokenSecret.name, key: params.tokenSecret.key } },
    },
  ];
}

/** Requests equal to limits: the Guaranteed QoS class, so a busy node evicts other pods first. */
export function resources(cpu: string, memory: string): IResourceRequirements {
  return { requests: { cpu, memory }, limits: { cpu, memory } };
}

/**
 * Startup: the process listens (migrations at start can take a while on a cold database);
 * readiness: every served model is loaded and warm (503 before, and while draining);
 * liveness: the process answers at all.
 */
export function probes(port: number): Pick<IContainer, 'startupProbe' | 'readinessProbe' | 'livenessProbe'> {
  const get = (path: string): Pick<IProbe, 'httpGet'> => ({ httpGet: { path, port } });
  return {
    startupProbe: { ...get(LIVE_PATH), periodSeconds: 2, failureThreshold: 60, timeoutSeconds: 2 },
    readinessProbe: { ...get(READY_PATH), periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 2 },
    livenessProbe: { ...get(LIVE_PATH), periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 2 },
  };
}

/** The serving probes without the startup one (KServe and Seldon servers manage their own start). */
export function readinessAndLiveness(port: number): Pick<IContainer, 'readinessProbe' | 'livenessProbe'> {
  const { readinessProbe, livenessProbe } = probes(port);
  return { readinessProbe, livenessProbe };
}

/** /tmp and FERRY_HOME are the only writable places of a read-only root file system. */
export function scratchVolumes(): IVolume[] {
  return [
    { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
    { name: 'ferry-home', emptyDir: { sizeLimit: '1Gi' } },
  ];
}

export function scratchMounts(): IVolumeMount[] {
  return [
    { name: 'tmp', mountPath: '/tmp' },
    { name: 'ferry-home', mountPath: FERRY_HOME_PATH },
  ];
}

/** The name of the PersistentVolumeClaim of the artifact store. */
export function artifactsClaim(params: DeployParams): string {
  return `${params.appName}-artifacts`;
}

export function configMapName(params: DeployParams): string {
  return `${params.appName}-config`;
}
