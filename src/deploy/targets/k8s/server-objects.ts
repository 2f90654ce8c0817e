/**
 * The serving objects of the plain Kubernetes target: the pod template (shared by the Deployment
 * and the Argo Rollout), Service, HorizontalPodAutoscaler, PodDisruptionBudget, ConfigMap and the
 * artifact store's claim.
 */

import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import type { ITopologySpreadConstraint } from 'kubernetes-models/v1/TopologySpreadConstraint';
import type { DeployParams } from '../../deploy-types.js';
import { appLabels, objectLabels } from './manifest.js';
import {
  ARTIFACTS_PATH,
  artifactsClaim,
  configMapName,
  containerSecurityContext,
  FERRY_HOME_PATH,
  podSecurityContext,
  probes,
  resources,
  scratchMounts,
  scratchVolumes,
  secretEnv,
  shutdownTiming,
} from './serving-pod.js';

export const SERVER = 'server';
/** The Service's port: clients in the cluster call http://<name>.<namespace>/… without a port. */
const SERVICE_PORT = 80;

/** The HPA's ceiling: four times the floor, at least 4 (DeployParams.replicas says so too). */
export function maxReplicas(replicas: number): number {
  return Math.max(4, 4 * replicas);
}

/** Spread over zones first, then nodes; only pods of the same rollout (pod-template-hash) count. */
export function topologySpread(params: DeployParams): ITopologySpreadConstraint[] {
  const selector = { matchLabels: appLabels(params, SERVER) };
  return [
    {
      maxSkew: 1,
      topologyKey: 'topology.kubernetes.io/zone',
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: selector,
      matchLabelKeys: ['pod-template-hash'],
    },
    {
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: selector,
      matchLabelKeys: ['pod-template-hash'],
    },
  ];
}

export interface PodTemplateOptions {
  /** Prod: spread the replicas over zones and nodes. */
  spread: boolean;
}

/** The serving pod: `ferry serve`, settings from the ConfigMap, secrets from Secrets. */
export function servingPodTemplate(params: DeployParams, opts: PodTemplateOptions): IPodTemplateSpec {
  const timing = shutdownTiming(params);
  return {
    metadata: { labels: objectLabels(params, SERVER) },
    spec: {
      // Ferry calls no Kubernetes API.
      automountServiceAccountToken: false,
      // Service links would inject variables like FERRY_PORT=tcp://… for a Service named ferry.
      enableServiceLinks: false,
      terminationGracePeriodSeconds: timing.graceSeconds,
      securityContext: podSecurityContext(),
      ...(opts.spread ? { topologySpreadConstraints: topologySpread(params) } : {}),
      containers: [
        {
          name: 'ferry',
          image: params.image,
          imagePullPolicy: 'IfNotPresent',
          args: ['serve'],
          ports: [{ name: 'http', containerPort: params.port, protocol: 'TCP' }],
          envFrom: [{ configMapRef: { name: configMapName(params) } }],
          env: secretEnv(params),
          resources: resources(params.cpu, params.memory),
          ...probes(params.port),
          // The sleep action (beta and on by default since Kubernetes 1.30, GA in 1.34): the image
          // has no shell or `sleep` binary for an exec hook.
          lifecycle: { preStop: { sleep: { seconds: timing.preStopSeconds } } },
          securityContext: containerSecurityContext(),
          volumeMounts: [
            ...scratchMounts(),
            // Servers only read versions; training and retraining write them.
            { name: 'artifacts', mountPath: ARTIFACTS_PATH, readOnly: true },
          ],
        },
      ],
      volumes: [
        ...scratchVolumes(),
        { name: 'artifacts', persistentVolumeClaim: { claimName: artifactsClaim(params), readOnly: true } },
      ],
    },
  };
}

export function deployment(params: DeployParams): IDeployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: params.appName, labels: objectLabels(params, SERVER) },
    spec: {
      replicas: params.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: appLabels(params, SERVER) },
      // A new pod is ready before an old one goes: capacity never drops during a rollout.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: servingPodTemplate(params, { spread: false }),
    },
  };
}

export function service(params: DeployParams): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: params.appName, labels: objectLabels(params, SERVER) },
    spec: {
      type: 'ClusterIP',
      selector: appLabels(params, SERVER),
      ports: [{ name: 'http', port: SERVICE_PORT, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

export function horizontalPodAutoscaler(
  params: DeployParams,
  target: { apiVersion: string; kind: string } = { apiVersion: 'apps/v1', kind: 'Deployment' },
): IHorizontalPodAutoscaler {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: params.appName, labels: objectLabels(params, SERVER) },
    spec: {
      scaleTargetRef: { ...target, name: params.appName },
      minReplicas: params.replicas,
      maxReplicas: maxReplicas(params.replicas),
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
      // Scale up at once, down slowly: a model load makes a new pod slow to become ready.
      behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
    },
  };
}

export function podDisruptionBudget(params: DeployParams): IPodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: params.appName, labels: objectLabels(params, SERVER) },
    spec: {
      // One pod at a time, whatever the HPA scaled to; a node drain never empties the Service.
      maxUnavailable: 1,
      selector: { matchLabels: appLabels(params, SERVER) },
    },
  };
}

/** Ferry's settings (README, Settings) for every pod; the secrets are not here. */
export function configMap(params: DeployParams): IConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: configMapName(params), labels: objectLabels(params, SERVER) },
    data: {
      FERRY_HOME: FERRY_HOME_PATH,
      FERRY_ARTIFACTS: ARTIFACTS_PATH,
      FERRY_HOST: '0.0.0.0',
      PORT: String(params.port),
      // One process per pod: scale with replicas, not with --workers.
      FERRY_WORKERS: '1',
      FERRY_MODELS: params.model.name,
      FERRY_ALIASES: params.model.alias,
      FERRY_SHUTDOWN_TIMEOUT_MS: String(params.shutdownTimeoutMs),
      FERRY_LOG_FORMAT: 'json',
      FERRY_LOG_LEVEL: 'info',
      FERRY_PREDICTION_LOG: 'sql',
      // Per pod; redis://… shares the cache between replicas.
      FERRY_CACHE: 'memory:',
      // Not Ferry settings: the batch CronJob's query and the batch workers' queue (jobs.yaml).
      BATCH_INPUT_SQL: 'SELECT id, title, description FROM projects',
      BATCH_QUEUE_URL: 'redis://redis:6379',
    },
  };
}

export function artifactsVolumeClaim(params: DeployParams): IPersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: artifactsClaim(params), labels: objectLabels(params, 'artifacts') },
    spec: {
      // Every server reads it, retraining writes it, from any node: an NFS, EFS, Filestore or
      // CephFS class; set storageClassName in an overlay if the default class is not one.
      accessModes: ['ReadWriteMany'],
      resources: { requests: { storage: '5Gi' } },
    },
  };
}

/** What `secret.example.yaml` shows: the keys, never values. */
export function exampleSecrets(params: DeployParams): ISecret[] {
  const one = (name: string, key: string, value: string): ISecret => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, labels: objectLabels(params, SERVER) },
    type: 'Opaque',
    stringData: { [key]: value },
  });
  const db = one(
    params.databaseSecret.name,
    params.databaseSecret.key,
    'postgres://ferry:CHANGE-ME@postgres:5432/ferry',
  );
  const token = one(params.tokenSecret.name, params.tokenSecret.key, 'CHANGE-ME-a-long-random-token');
  // Both in one Secret: one object with both keys.
  if (params.databaseSecret.name === params.tokenSecret.name)
    return [{ ...db, stringData: { ...db.stringData, ...token.stringData } }];
  return [db, token];
}
