/**
 * `ferry deploy render kubernetes`: a Kustomize base and three overlays (dev, prod, argo-canary),
 * plus files applied by hand (example Secrets, the batch workers' Job, an in-process canary).
 * docs/deployment/kubernetes.md explains the layout.
 */
import type { IRollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { ICronJob } from 'kubernetes-models/batch/v1/CronJob';
import type { DeployParams, DeployTargetSpec, RenderedFile } from '../deploy-types.js';
import { cpuMillis, memoryBytes } from '../quantities.js';
import { batchCronJob, batchWorkersJob, retrainCronJob } from './k8s/job-objects.js';
import { appLabels, objectLabels, yamlFile } from './k8s/manifest.js';
import {
  artifactsVolumeClaim,
  configMap,
  deployment,
  exampleSecrets,
  horizontalPodAutoscaler,
  maxReplicas,
  podDisruptionBudget,
  SERVER,
  service,
  servingPodTemplate,
  topologySpread,
} from './k8s/server-objects.js';

const TARGET = 'kubernetes';
/** A strategic-merge patch: any part of the object, each field still of its type (no typos). */
type Patch<T> =
  T extends Array<infer U> ? Array<Patch<U>> : T extends object ? { [K in keyof T]?: Patch<T[K]> } : T;

const KUSTOMIZATION = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' } as const;

/** The dev overlay's namespace: the prod one with `-dev`, within the 63 characters of a label. */
export function devNamespace(namespace: string): string {
  return `${namespace.slice(0, 59).replace(/-+$/, '')}-dev`;
}

/** Dev's pods: half the CPU and memory, at least 50m and 128Mi (what deploy-options accepts). */
export function devResources(params: DeployParams): { cpu: string; memory: string } {
  const cpu = Math.max(50, Math.floor((cpuMillis(params.cpu) ?? 1000) / 2));
  const mi = Math.max(128, Math.floor((memoryBytes(params.memory) ?? 512 * 1024 ** 2) / 2 / 1024 ** 2));
  return { cpu: `${cpu}m`, memory: `${mi}Mi` };
}

/** The Argo Rollouts steps: weights (by replica count, no traffic router needed) and pauses. */
export const ARGO_STEPS: NonNullable<NonNullable<IRollout['spec']['strategy']>['canary']>['steps'] = [
  { setWeight: 10 },
  { pause: { duration: '5m' } },
  { setWeight: 25 },
  { pause: { duration: '10m' } },
  { setWeight: 50 },
  // Until someone runs `kubectl argo rollouts promote <name>` after looking at the figures.
  { pause: {} },
];

function rollout(params: DeployParams): IRollout {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: params.appName, labels: objectLabels(params, SERVER) },
    spec: {
      replicas: params.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: appLabels(params, SERVER) },
      template: servingPodTemplate(params, { spread: true }),
      strategy: { canary: { maxSurge: 1, maxUnavailable: 0, steps: ARGO_STEPS } },
    },
  };
}

/** The in-process canary the docs start with `curl … /v1/experiments` (README, Canary releases). */
export function canaryExperiment(params: DeployParams): object {
  return {
    name: `${params.model.name}-canary-1`,
    type: 'canary',
    model: params.model.name,
    arms: [
      { name: 'production', alias: params.model.alias },
      { name: 'candidate', alias: 'staging' },
    ],
    metrics: [{ name: 'accepted', kind: 'binary' }],
    canary: {
      steps: [0.05, 0.25, 0.5, 1],
      minRequestsPerStep: 100,
      minStepDurationMs: 60_000,
      thresholds: { maxErrorRateIncrease: 0.01, maxP99Ratio: 1.5, maxDistributionDistance: 0.1 },
    },
  };
}

function kustomization(body: Record<string, unknown>): object {
  return { ...KUSTOMIZATION, ...body };
}

function base(params: DeployParams): RenderedFile[] {
  const files: Array<[string, object, string[]?]> = [
    [
      'configmap.yaml',
      configMap(params),
      ['Optional settings: README, Settings (FERRY_CACHE=redis://…, FERRY_STREAM_URL=nats://…).'],
    ],
    ['deployment.yaml', deployment(params)],
    ['service.yaml', service(params)],
    ['hpa.yaml', horizontalPodAutoscaler(params)],
    [
      'artifacts-pvc.yaml',
      artifactsVolumeClaim(params),
      ['The artifact store (FERRY_ARTIFACTS) every pod shares: it needs a ReadWriteMany storage class.'],
    ],
    ['cronjob-batch.yaml', batchCronJob(params)],
    ['cronjob-retrain.yaml', retrainCronJob(params)],
  ];
  const out = files.map(([path, doc, notes]) => yamlFile(`base/${path}`, TARGET, params, [doc], notes));
  out.unshift(
    yamlFile('base/kustomization.yaml', TARGET, params, [
      kustomization({ namespace: params.namespace, resources: files.map(([path]) => path) }),
    ]),
  );
  return out;
}

function dev(params: DeployParams): RenderedFile[] {
  const small = devResources(params);
  const patches: Array<[string, object]> = [
    [
      'patch-deployment.yaml',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: params.appName },
        spec: {
          replicas: 1,
          template: {
            spec: {
              containers: [{ name: 'ferry', resources: { requests: small, limits: small } }],
            },
          },
        },
      } satisfies Patch<IDeployment>,
    ],
    [
      'patch-hpa.yaml',
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: params.appName },
        spec: { minReplicas: 1, maxReplicas: maxReplicas(1) },
      } satisfies Patch<IHorizontalPodAutoscaler>,
    ],
    // Dev runs the jobs by hand: `kubectl create job --from=cronjob/<name> <name>-manual`.
    [
      'patch-cronjob-batch.yaml',
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: `${params.appName}-batch` },
        spec: { suspend: true },
      } satisfies Patch<ICronJob>,
    ],
    [
      'patch-cronjob-retrain.yaml',
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata: { name: `${params.appName}-retrain` },
        spec: { suspend: true },
      } satisfies Patch<ICronJob>,
    ],
  ];
  return [
    yamlFile('overlays/dev/kustomization.yaml', TARGET, params, [
      kustomization({
        namespace: devNamespace(params.namespace),
        resources: ['../../base'],
        patches: patches.map(([path]) => ({ path })),
      }),
    ]),
    ...patches.map(([path, doc]) => yamlFile(`overlays/dev/${path}`, TARGET, params, [doc])),
  ];
}

function prod(params: DeployParams): RenderedFile[] {
  const spread = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: params.appName },
    spec: { template: { spec: { topologySpreadConstraints: topologySpread(params) } } },
  } satisfies Patch<IDeployment>;
  return [
    yamlFile('overlays/prod/kustomization.yaml', TARGET, params, [
      kustomization({
        // Objects of an overlay get the namespace of their own kustomization, not the base's.
        namespace: params.namespace,
        resources: ['../../base', 'pdb.yaml'],
        patches: [{ path: 'patch-spread.yaml' }],
      }),
    ]),
    yamlFile('overlays/prod/pdb.yaml', TARGET, params, [podDisruptionBudget(params)]),
    yamlFile('overlays/prod/patch-spread.yaml', TARGET, params, [spread]),
  ];
}

function argoCanary(params: DeployParams): RenderedFile[] {
  const deleteDeployment = {
    $patch: 'delete',
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: params.appName },
  };
  const hpa = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: params.appName },
    spec: { scaleTargetRef: { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: params.appName } },
  } satisfies Patch<IHorizontalPodAutoscaler>;
  return [
    yamlFile('overlays/argo-canary/kustomization.yaml', TARGET, params, [
      kustomization({
        namespace: params.namespace,
        resources: ['../prod', 'rollout.yaml'],
        patches: [{ path: 'delete-deployment.yaml' }, { path: 'patch-hpa.yaml' }],
      }),
    ]),
    yamlFile(
      'overlays/argo-canary/rollout.yaml',
      TARGET,
      params,
      [rollout(params)],
      [
        'Needs the Argo Rollouts controller; `kubectl argo rollouts get rollout <name> -w` follows a rollout.',
      ],
    ),
    yamlFile(
      'overlays/argo-canary/delete-deployment.yaml',
      TARGET,
      params,
      [deleteDeployment],
      ['The Rollout below replaces the Deployment of the prod overlay (same pod template, same labels).'],
    ),
    yamlFile('overlays/argo-canary/patch-hpa.yaml', TARGET, params, [hpa]),
  ];
}

function byHand(params: DeployParams): RenderedFile[] {
  return [
    yamlFile('secret.example.yaml', TARGET, params, exampleSecrets(params), [
      '',
      'NOT part of any kustomization: the keys the pods read, with placeholder values. Create the',
      'real Secrets yourself (kubectl create secret generic …, or your secret manager); never commit them.',
    ]),
    yamlFile(
      'jobs/batch-workers-job.yaml',
      TARGET,
      params,
      [batchWorkersJob(params)],
      [
        '',
        'NOT part of any kustomization: apply it for a distributed batch job (`ferry batch predict --queue`),',
        'delete it when `ferry batch status <job>` says done. Workers run until SIGTERM or the deadline.',
      ],
    ),
    {
      path: 'experiments/canary.example.json',
      content: `${JSON.stringify(canaryExperiment(params), null, 2)}\n`,
    },
  ];
}

export const kubernetesTarget: DeployTargetSpec = {
  target: 'kubernetes',
  description:
    'Kubernetes: Kustomize base and dev/prod/argo-canary overlays (Deployment, Service, HPA, PDB, CronJobs)',
  defaultOut: 'deploy/kubernetes',
  committedOut: 'deploy/kubernetes',
  render(params: DeployParams): RenderedFile[] {
    return [...base(params), ...dev(params), ...prod(params), ...argoCanary(params), ...byHand(params)];
  },
};
