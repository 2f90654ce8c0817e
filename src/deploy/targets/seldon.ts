/**
 * `ferry deploy render seldon`: a Seldon Core 2 `Server` running Ferry's image in place of
 * MLServer, and a `Model` scheduled onto it.
 *
 * How Seldon Core 2 declares a custom server (SeldonIO/seldon-core, branch v2): a Server names a
 * ServerConfig (`mlserver` is installed with Seldon: the rclone, agent and mlserver containers) and
 * may override its `podSpec`; containers are merged by name (operator/controllers/reconcilers/
 * common/patch_utils.go, MergeContainers), so a container named `mlserver` replaces the image,
 * arguments and probes of the inference server and keeps the agent and rclone beside it. The agent
 * reaches the inference server on SELDON_SERVER_HTTP_PORT (9000) and SELDON_SERVER_GRPC_PORT (9500).
 *
 * What does not fit (docs/deployment/kubernetes.md, "Seldon"): the agent drives the inference server
 * over the Open Inference Protocol's gRPC API — ServerLive, RepositoryIndex, RepositoryModelLoad
 * and RepositoryModelUnload (scheduler/pkg/agent/modelserver_controlplane/oip/v2.go) — and Ferry
 * serves the REST API only (health, metadata, infer), without the model repository extension. The
 * manifests are valid against Seldon's CRDs, but a Model will not become available on this Server
 * until something answers those calls.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IVolume } from 'kubernetes-models/v1/Volume';
import type { DeployParams, DeployTargetSpec, RenderedFile } from '../deploy-types.js';
import { objectLabels, yamlFile } from './k8s/manifest.js';
import { SERVER } from './k8s/server-objects.js';
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

const TARGET = 'seldon';

/** The ServerConfig installed with Seldon Core 2 whose inference server Ferry replaces. */
const SELDON_SERVER_CONFIG = 'mlserver';
/** Its inference server container (merged by name). */
export const SELDON_SERVER_CONTAINER = 'mlserver';
/** SELDON_SERVER_HTTP_PORT of that ServerConfig: where the agent forwards inference requests. */
export const SELDON_SERVER_HTTP_PORT = 9000;
/** The capability this Server advertises and the Model requires, so no other server takes it. */
export const SELDON_CAPABILITY = 'ferry';

/** A Seldon Server: the subset of mlops.seldon.io/v1alpha1 fields used here. */
export interface SeldonServer {
  apiVersion: 'mlops.seldon.io/v1alpha1';
  kind: 'Server';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    serverConfig: string;
    replicas: number;
    capabilities: string[];
    podSpec: { containers: IContainer[]; volumes: IVolume[] };
  };
}

/** A Seldon Model: the subset of mlops.seldon.io/v1alpha1 fields used here. */
export interface SeldonModel {
  apiVersion: 'mlops.seldon.io/v1alpha1';
  kind: 'Model';
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: { storageUri: string; requirements: string[]; server: string; replicas: number };
}

/** A Kubernetes object name from a model name (which may hold `.` and `_`). */
export function seldonModelName(model: string): string {
  return model.replace(/[._]/g, '-').replace(/-+$/, '') || 'model';
}

function seldonServer(params: DeployParams): SeldonServer {
  const port = SELDON_SERVER_HTTP_PORT;
  return {
    apiVersion: 'mlops.seldon.io/v1alpha1',
    kind: 'Server',
    metadata: { name: params.appName, namespace: params.namespace, labels: objectLabels(params, SERVER) },
    spec: {
      serverConfig: SELDON_SERVER_CONFIG,
      replicas: params.replicas,
      // Replaces the ServerConfig's capabilities (mlserver's would attract sklearn, xgboost, … models).
      capabilities: [SELDON_CAPABILITY],
      podSpec: {
        containers: [
          {
            name: SELDON_SERVER_CONTAINER,
            image: params.image,
            args: ['serve', '--port', String(port)],
            env: [
              { name: 'FERRY_MODELS', value: params.model.name },
              { name: 'FERRY_ALIASES', value: params.model.alias },
              { name: 'FERRY_HOME', value: FERRY_HOME_PATH },
              { name: 'FERRY_ARTIFACTS', value: ARTIFACTS_PATH },
              { name: 'FERRY_SHUTDOWN_TIMEOUT_MS', value: String(params.shutdownTimeoutMs) },
              { name: 'FERRY_LOG_FORMAT', value: 'json' },
              ...secretEnv(params),
            ],
            resources: resources(params.cpu, params.memory),
            ...readinessAndLiveness(port),
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

function seldonModel(params: DeployParams): SeldonModel {
  return {
    apiVersion: 'mlops.seldon.io/v1alpha1',
    kind: 'Model',
    metadata: {
      name: seldonModelName(params.model.name),
      namespace: params.namespace,
      labels: objectLabels(params, 'model'),
    },
    spec: {
      // Required by the CRD, downloaded by the agent's rclone before it asks the server to load;
      // Ferry does not read it (it loads the alias's version from FERRY_DB and FERRY_ARTIFACTS).
      storageUri: `s3://CHANGE-ME/ferry/${params.model.name}`,
      requirements: [SELDON_CAPABILITY],
      server: params.appName,
      replicas: params.replicas,
    },
  };
}

const NOTES = [
  '',
  'NOT working end to end yet: the Seldon agent loads models through the Open Inference Protocol',
  "gRPC API and its model repository extension, which Ferry's server does not implement (REST only).",
  'See docs/deployment/kubernetes.md, "Seldon", for what works and what is missing.',
];

export const seldonTarget: DeployTargetSpec = {
  target: 'seldon',
  description:
    'Seldon Core 2: a Server running Ferry in place of MLServer, and a Model (see the docs: partial)',
  defaultOut: 'deploy/seldon',
  committedOut: 'deploy/seldon',
  render(params: DeployParams): RenderedFile[] {
    return [
      yamlFile('server.yaml', TARGET, params, [seldonServer(params)], NOTES),
      yamlFile(
        'model.yaml',
        TARGET,
        params,
        [seldonModel(params)],
        [
          ...NOTES,
          'Replace storageUri: the CRD requires one and the agent downloads it, though Ferry ignores it.',
        ],
      ),
    ];
  },
};
