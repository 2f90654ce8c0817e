/**
 * Validation of rendered Kubernetes objects: core kinds and Argo Rollouts with the schemas of the
 * kubernetes-models packages (generated from the Kubernetes and Argo OpenAPI definitions), KServe
 * and Seldon with the hand-written subsets of crd-schemas.ts, their embedded containers and
 * volumes with kubernetes-models again.
 */
import { Rollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout';
import AjvModule, { type ValidateFunction } from 'ajv';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Container } from 'kubernetes-models/v1/Container';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Volume } from 'kubernetes-models/v1/Volume';
import { parseAllDocuments } from 'yaml';
import { inferenceServiceSchema, seldonModelSchema, seldonServerSchema } from './crd-schemas.js';

// ajv is CommonJS: its class is the default export's default.
const Ajv = AjvModule.default;
const ajv = new Ajv({ strict: true, allErrors: true });

/** A parsed object: what the renderers and `kubectl kustomize` write. */
export type K8sObject = { apiVersion: string; kind: string; metadata?: { name?: string } } & Record<
  string,
  unknown
>;

interface Validatable {
  validate(): void;
}
// The models take their own interface; a rendered object is checked at run time, so `never` here.
type ModelClass = new (data: never) => Validatable;

const MODELS: Record<string, ModelClass> = {
  'apps/v1 Deployment': Deployment,
  'v1 Service': Service,
  'v1 ConfigMap': ConfigMap,
  'v1 Secret': Secret,
  'v1 PersistentVolumeClaim': PersistentVolumeClaim,
  'autoscaling/v2 HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
  'batch/v1 CronJob': CronJob,
  'batch/v1 Job': Job,
  'argoproj.io/v1alpha1 Rollout': Rollout,
};

const CRDS: Record<string, ValidateFunction> = {
  'serving.kserve.io/v1beta1 InferenceService': ajv.compile(inferenceServiceSchema),
  'mlops.seldon.io/v1alpha1 Server': ajv.compile(seldonServerSchema),
  'mlops.seldon.io/v1alpha1 Model': ajv.compile(seldonModelSchema),
};

function embedded(containers: unknown, volumes: unknown): void {
  for (const c of (containers ?? []) as object[]) new Container(c as never).validate();
  for (const v of (volumes ?? []) as object[]) new Volume(v as never).validate();
}

/** Throws, naming the object and the failing field, unless `obj` is a valid object of a known kind. */
export function validateObject(obj: K8sObject): void {
  const key = `${obj.apiVersion} ${obj.kind}`;
  const where = `${key} ${obj.metadata?.name ?? '?'}`;
  const Model = MODELS[key];
  try {
    if (Model) {
      new Model(obj as never).validate();
      return;
    }
    const check = CRDS[key];
    if (!check) throw new Error('no schema for this kind');
    if (!check(obj)) throw new Error(ajv.errorsText(check.errors));
    const spec = obj.spec as Record<string, { containers?: unknown; volumes?: unknown } | undefined>;
    const pod = spec.predictor ?? spec.podSpec;
    if (pod) embedded(pod.containers, pod.volumes);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}

/** Every document of a YAML stream, as plain objects (empty documents dropped). */
export function parseYamlDocuments(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('; '));
    const value = doc.toJS() as K8sObject | null;
    if (value !== null) out.push(value);
  }
  return out;
}

/** The pod spec of a workload, whatever its kind. */
export function podSpecOf(obj: K8sObject): Record<string, unknown> {
  const spec = obj.spec as Record<string, unknown>;
  switch (obj.kind) {
    case 'Deployment':
    case 'Rollout':
    case 'Job':
      return (spec.template as { spec: Record<string, unknown> }).spec;
    case 'CronJob':
      return (spec.jobTemplate as { spec: { template: { spec: Record<string, unknown> } } }).spec.template
        .spec;
    default:
      throw new Error(`${obj.kind} has no pod template`);
  }
}
