/**
 * `ferry deploy render kserve`: an InferenceService whose predictor is Ferry's image as a custom
 * container speaking the Open Inference Protocol v2, and the same service with a canary revision
 * (`canaryTrafficPercent`) that follows the `staging` alias.
 *
 * What KServe reads of a custom container (kserve/kserve pkg/apis/serving/v1beta1/predictor_custom.go):
 * the container named `kserve-container`, its `PROTOCOL` variable (`v1` or `v2`; `protocolVersion`
 * is a field of the `model` form only, which needs a ServingRuntime), port 8080. The canary
 * needs the Knative ("Serverless") deployment mode, so both files use it.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { DeployParams, DeployTargetSpec, RenderedFile } from '../deploy-types.js';
import { objectLabels, yamlFile } from './k8s/manifest.js';
import { maxReplicas, SERVER } from './k8s/server-objects.js';
import {
  ARTIFACTS_PATH,
  artifactsClaim,
  containerSecurityContext,
  FERRY_HOME_PATH,
  readinessAndLiveness,
  resources,
  scratchMounts,
  scratchVolumes,
  secretEnv,
} from './k8s/serving-pod.js';

const TARGET = 'kserve';

/** KServe's port for custom containers (constants.InferenceServiceDefaultHttpPort). */
export const KSERVE_PORT = 8080;
/** KServe finds the predictor's container by this name (constants.InferenceServiceContainerName). */
export const KSERVE_CONTAINER = 'kserve-container';
/** Share of requests the canary revision gets in the canary variant. */
export const CANARY_TRAFFIC_PERCENT = 10;
/** The alias the canary revision serves (what `ferry retrain --policy staging` moves). */
export const CANARY_ALIAS = 'staging';

/** An InferenceService: no npm package models it, so this is the subset of fields used here. */
export interface InferenceService {
  apiVersion: 'serving.kserve.io/v1beta1';
  kind: 'InferenceService';
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  spec: {
    predictor: {
      minReplicas: number;
      maxReplicas: number;
      canaryTrafficPercent?: number;
      containers: IContainer[];
      volumes: IVolume[];
    };
  };
}

function env(params: DeployParams, alias: string): IEnvVar[] {
  return [
    // How KServe learns the protocol of a custom container.
    { name: 'PROTOCOL', value: 'v2' },
    { name: 'FERRY_MODELS', value: params.model.name },
    { name: 'FERRY_ALIASES', value: alias },
    { name: 'FERRY_HOME', value: FERRY_HOME_PATH },
    { name: 'FERRY_ARTIFACTS', value: ARTIFACTS_PATH },
    { name: 'FERRY_SHUTDOWN_TIMEOUT_MS', value: String(params.shutdownTimeoutMs) },
    { name: 'FERRY_LOG_FORMAT', value: 'json' },
    ...secretEnv(params),
  ];
}

function inferenceService(params: DeployParams, canary: boolean): InferenceService {
  const alias = canary ? CANARY_ALIAS : params.model.alias;
  return {
    apiVersion: 'serving.kserve.io/v1beta1',
    kind: 'InferenceService',
    metadata: {
      name: params.appName,
      namespace: params.namespace,
      labels: objectLabels(params, SERVER),
      // `Serverless` (renamed `Knative` in KServe 0.16, the old name still accepted): the canary
      // split is a Knative feature, and an InferenceService cannot change its mode later.
      annotations: { 'serving.kserve.io/deploymentMode': 'Serverless' },
    },
    spec: {
      predictor: {
        minReplicas: params.replicas,
        maxReplicas: maxReplicas(params.replicas),
        ...(canary ? { canaryTrafficPercent: CANARY_TRAFFIC_PERCENT } : {}),
        containers: [
          {
            name: KSERVE_CONTAINER,
            image: params.image,
            // Knative reserves PORT (and sets it to the container port): the flag says it instead.
            args: ['serve', '--port', String(KSERVE_PORT)],
            ports: [{ name: 'http1', containerPort: KSERVE_PORT, protocol: 'TCP' }],
            env: env(params, alias),
            resources: resources(params.cpu, params.memory),
            ...readinessAndLiveness(KSERVE_PORT),
            // Container-level only: Knative refuses most pod-level securityContext fields by default.
            securityContext: containerSecurityContext(),
            volumeMounts: [
              ...scratchMounts(),
              { name: 'artifacts', mountPath: ARTIFACTS_PATH, readOnly: true },
            ],
          },
        ],
        volumes: [
          ...scratchVolumes(),
          { name: 'artifacts', persistentVolumeClaim: { claimName: artifactsClaim(params), readOnly: true } },
        ],
      },
    },
  };
}

const NOTES = [
  '',
  'Needs KServe in Serverless (Knative) mode, the Knative feature flags kubernetes.podspec-volumes-emptydir',
  'and kubernetes.podspec-persistent-volume-claim enabled, and the Secrets and the artifacts claim of',
  'deploy/kubernetes (base/artifacts-pvc.yaml, secret.example.yaml). See docs/deployment/kubernetes.md.',
];

export const kserveTarget: DeployTargetSpec = {
  target: 'kserve',
  description: 'KServe: an InferenceService with Ferry as a custom v2 predictor, and a canary variant',
  defaultOut: 'deploy/kserve',
  committedOut: 'deploy/kserve',
  render(params: DeployParams): RenderedFile[] {
    return [
      yamlFile('inferenceservice.yaml', TARGET, params, [inferenceService(params, false)], NOTES),
      yamlFile(
        'inferenceservice-canary.yaml',
        TARGET,
        params,
        [inferenceService(params, true)],
        [
          ...NOTES,
          `Apply over inferenceservice.yaml: a new revision serving the ${CANARY_ALIAS} alias gets`,
          `${CANARY_TRAFFIC_PERCENT}% of the requests, the last rolled-out revision the rest. Promote: set`,
          'canaryTrafficPercent to 100 (or remove it); roll back: set it to 0.',
        ],
      ),
    ];
  },
};
