import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeployParams, RenderedFile } from '../../../src/deploy/deploy-types.js';
import { RETRAIN_BUSY_EXIT, RETRAIN_REFUSED_EXIT } from '../../../src/deploy/targets/k8s/job-objects.js';
import {
  ARGO_STEPS,
  canaryExperiment,
  devNamespace,
  devResources,
  kubernetesTarget,
} from '../../../src/deploy/targets/kubernetes.js';
import { writeRendered } from '../../../src/deploy/write-rendered.js';
import { parseExperimentDefinition } from '../../../src/experiments/experiment-definition.js';
import {
  containersOf,
  expectFerryCommand,
  expectHeader,
  expectLockedDown,
  expectSecretEnv,
  expectServingPod,
  fileOf,
  kubectlAvailable,
  PARAM_SETS,
} from './k8s-checks.js';
import { type K8sObject, parseYamlDocuments, podSpecOf, validateObject } from './manifest-validation.js';

type Obj = Record<string, unknown>;

function docs(files: readonly RenderedFile[], path: string): K8sObject[] {
  return parseYamlDocuments(fileOf(files, path).content);
}
function only(files: readonly RenderedFile[], path: string): K8sObject {
  const [d, ...rest] = docs(files, path);
  expect(rest).toEqual([]);
  return d!;
}
function spec(o: K8sObject): Obj {
  return o.spec as Obj;
}

/** Files Kustomize reads as patches: partial objects, validated only once merged. */
const isPatch = (path: string) => /\/(patch|delete)-[^/]+\.yaml$/.test(path);

describe.each(PARAM_SETS)('ferry deploy render kubernetes, %s', (_label, params) => {
  const files = kubernetesTarget.render(params);
  const config = (only(files, 'base/configmap.yaml').data ?? {}) as Record<string, string>;
  const ferryHome = config.FERRY_HOME!;

  it('renders the same bytes twice (pure)', () => {
    expect(kubernetesTarget.render(params)).toEqual(files);
  });

  it('every YAML file has the header and parses; every whole object is valid (kubernetes-models)', () => {
    let validated = 0;
    for (const f of files) {
      if (!f.path.endsWith('.yaml')) continue;
      expectHeader(f, 'kubernetes');
      for (const d of parseYamlDocuments(f.content)) {
        if (d.kind === 'Kustomization' || isPatch(f.path)) continue;
        validateObject(d);
        validated++;
      }
    }
    // base (7), prod's PDB, the Rollout, the example Secrets (2), the workers' Job.
    expect(validated).toBe(12);
  });

  it('the base kustomization lists every base object, and neither the example Secrets nor the Job', () => {
    const k = only(files, 'base/kustomization.yaml');
    expect(k.namespace).toBe(params.namespace);
    const listed = (k.resources as string[]).map((r) => `base/${r}`).sort();
    const inBase = files
      .map((f) => f.path)
      .filter((p) => p.startsWith('base/') && p !== 'base/kustomization.yaml')
      .sort();
    expect(listed).toEqual(inBase);
    for (const f of files.filter((x) => x.path.endsWith('kustomization.yaml')))
      expect(f.content).not.toMatch(/secret\.example|batch-workers-job/);
  });

  it('the Deployment: image, probes on Ferry routes, grace ≥ preStop + drain, non-root, resources, secrets', () => {
    const d = only(files, 'base/deployment.yaml');
    expect(d.metadata?.name).toBe(params.appName);
    expect(spec(d).replicas).toBe(params.replicas);
    const pod = podSpecOf(d);
    expectServingPod(pod, params, ferryHome);
    const c = containersOf(pod)[0]!;
    expect(c.lifecycle?.preStop?.sleep?.seconds).toBe(5);
    expect(pod.terminationGracePeriodSeconds).toBe(5 + Math.ceil(params.shutdownTimeoutMs / 1000) + 5);
    expect(pod.enableServiceLinks).toBe(false);
    expect((pod.containers as Array<{ ports: Obj[] }>)[0]!.ports).toEqual([
      { name: 'http', containerPort: params.port, protocol: 'TCP' },
    ]);
    expect((pod.containers as Array<{ envFrom: Obj[] }>)[0]!.envFrom).toEqual([
      { configMapRef: { name: `${params.appName}-config` } },
    ]);
  });

  it('the ConfigMap carries the serving settings of the parameters', () => {
    expect(config).toMatchObject({
      PORT: String(params.port),
      FERRY_MODELS: params.model.name,
      FERRY_ALIASES: params.model.alias,
      FERRY_SHUTDOWN_TIMEOUT_MS: String(params.shutdownTimeoutMs),
      FERRY_LOG_FORMAT: 'json',
    });
    expect(config.FERRY_DB).toBeUndefined();
    expect(config.FERRY_ADMIN_TOKEN).toBeUndefined();
  });

  it('Service, HPA (min replicas, max max(4, 4 × replicas)) and the prod PDB select the serving pods', () => {
    const svc = only(files, 'base/service.yaml');
    const podLabels = (spec(only(files, 'base/deployment.yaml')).template as { metadata: { labels: Obj } })
      .metadata.labels;
    expect(podLabels).toMatchObject(spec(svc).selector as Obj);
    expect(spec(svc).ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    const hpa = spec(only(files, 'base/hpa.yaml'));
    expect(hpa.minReplicas).toBe(params.replicas);
    expect(hpa.maxReplicas).toBe(Math.max(4, 4 * params.replicas));
    expect(hpa.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: params.appName });
    const pdb = spec(only(files, 'overlays/prod/pdb.yaml'));
    expect(podLabels).toMatchObject((pdb.selector as { matchLabels: Obj }).matchLabels);
  });

  it('the CronJobs and the workers Job run real ferry commands, locked down, with the secrets', () => {
    const defined = new Set([...Object.keys(config), 'FERRY_DB', 'FERRY_ADMIN_TOKEN']);
    const jobs = [
      only(files, 'base/cronjob-batch.yaml'),
      only(files, 'base/cronjob-retrain.yaml'),
      only(files, 'jobs/batch-workers-job.yaml'),
    ];
    const commands = jobs.map((j) => {
      const pod = podSpecOf(j);
      const [c] = containersOf(pod);
      expect(c!.image).toBe(params.image);
      expectLockedDown(c!);
      expectSecretEnv(c!, params);
      expectFerryCommand(c!.args!, defined);
      return c!.args!;
    });
    expect(commands[0]!.slice(0, 4)).toEqual([
      'batch',
      'predict',
      '--model',
      `${params.model.name}@${params.model.alias}`,
    ]);
    expect(commands[1]!.slice(0, 3)).toEqual(['retrain', '--model', params.model.name]);
    expect(commands[1]).toEqual(expect.arrayContaining(['--policy', 'canary', '--min-f1', '--class-margin']));
    expect(commands[2]!.slice(0, 2)).toEqual(['batch', 'worker']);
    expect(spec(jobs[0]!).schedule).toBe('0 2 * * *');
    expect(spec(jobs[0]!).concurrencyPolicy).toBe('Forbid');
    expect(spec(jobs[2]!).parallelism).toBeGreaterThan(1);
    // A gate refusal or a busy retraining is not retried like a crash.
    const retrainJob = (spec(jobs[1]!).jobTemplate as { spec: Obj }).spec;
    expect(JSON.stringify(retrainJob.podFailurePolicy)).toContain(
      JSON.stringify([RETRAIN_REFUSED_EXIT, RETRAIN_BUSY_EXIT]),
    );
    // Only retraining writes versions into the artifact store.
    const artifactsMount = (j: K8sObject) =>
      containersOf(podSpecOf(j))[0]!.volumeMounts!.find((m) => m.name === 'artifacts')!.readOnly;
    expect(jobs.map(artifactsMount)).toEqual([true, false, true]);
  });

  it('the example Secrets have the keys the pods read, and are no real secret', () => {
    const secrets = docs(files, 'secret.example.yaml');
    const keys = secrets.flatMap((s) =>
      Object.keys(s.stringData as Obj).map((k) => ({ name: s.metadata?.name, key: k })),
    );
    expect(keys).toEqual(
      expect.arrayContaining([
        { name: params.databaseSecret.name, key: params.databaseSecret.key },
        { name: params.tokenSecret.name, key: params.tokenSecret.key },
      ]),
    );
    for (const s of secrets)
      for (const v of Object.values(s.stringData as Obj)) expect(v).toMatch(/CHANGE-ME/);
  });

  it('the in-process canary example is a definition Ferry accepts', () => {
    const raw = JSON.parse(fileOf(files, 'experiments/canary.example.json').content) as Obj;
    expect(raw).toEqual(canaryExperiment(params));
    const def = parseExperimentDefinition(raw);
    expect(def.type).toBe('canary');
    expect(def.model).toBe(params.model.name);
  });

  it('the Argo Rollout: the serving pod spread over zones and nodes, canary steps with pauses', () => {
    const r = only(files, 'overlays/argo-canary/rollout.yaml');
    const pod = podSpecOf(r);
    expectServingPod(pod, params, ferryHome);
    expect(pod.topologySpreadConstraints).toHaveLength(2);
    const steps = (spec(r).strategy as { canary: { steps: Obj[] } }).canary.steps as Obj[];
    expect(steps).toEqual(ARGO_STEPS);
    expect(steps.some((s) => 'setWeight' in s)).toBe(true);
    expect(steps.some((s) => 'pause' in s)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------
// What `kubectl apply -k` would send: each overlay built by kubectl's Kustomize, every object validated.

const hasKubectl = kubectlAvailable();
const runKustomize = hasKubectl || process.env.CI !== undefined;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const built = new Map<string, Promise<K8sObject[]>>();
/** Each overlay is built once per parameter set; the tests below read the same output. */
function build(params: DeployParams, overlay: string): Promise<K8sObject[]> {
  const key = `${params.appName}/${overlay}`;
  let out = built.get(key);
  if (!out) {
    out = buildOnce(params, overlay);
    built.set(key, out);
  }
  return out;
}

async function buildOnce(params: DeployParams, overlay: string): Promise<K8sObject[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-k8s-'));
  dirs.push(dir);
  await writeRendered(join(dir, 'out'), kubernetesTarget.render(params));
  const r = spawnSync('kubectl', ['kustomize', join(dir, 'out', 'overlays', overlay)], { encoding: 'utf8' });
  if (r.error) throw r.error;
  expect(r.status, r.stderr).toBe(0);
  return parseYamlDocuments(r.stdout);
}

function byKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

describe.skipIf(!runKustomize).each(PARAM_SETS)('kubectl kustomize of each overlay, %s', (_label, params) => {
  const ferryHome = '/var/lib/ferry';

  it.each(['dev', 'prod', 'argo-canary'])(
    '%s: every object is valid and in its namespace',
    async (overlay) => {
      const objects = await build(params, overlay);
      expect(objects.length).toBeGreaterThanOrEqual(7);
      const ns = overlay === 'dev' ? devNamespace(params.namespace) : params.namespace;
      for (const o of objects) {
        validateObject(o);
        expect((o.metadata as { namespace?: string }).namespace, `${o.kind} ${o.metadata?.name}`).toBe(ns);
      }
      for (const kind of ['ConfigMap', 'Service', 'HorizontalPodAutoscaler', 'PersistentVolumeClaim'])
        expect(byKind(objects, kind), kind).toHaveLength(1);
      expect(byKind(objects, 'CronJob')).toHaveLength(2);
      expect(byKind(objects, 'Secret')).toHaveLength(0);
      expect(byKind(objects, 'Job')).toHaveLength(0);
    },
  );

  it('dev: one replica, smaller resources, suspended CronJobs, no PDB', async () => {
    const objects = await build(params, 'dev');
    const [d] = byKind(objects, 'Deployment');
    expect(spec(d!).replicas).toBe(1);
    const small = devResources(params);
    const c = containersOf(podSpecOf(d!))[0]!;
    expect(c.resources).toEqual({ requests: small, limits: small });
    // The patch changed only the resources: the rest of the serving pod is the base's.
    expectServingPod(podSpecOf(d!), { ...params, cpu: small.cpu, memory: small.memory }, ferryHome);
    expect(spec(byKind(objects, 'HorizontalPodAutoscaler')[0]!)).toMatchObject({
      minReplicas: 1,
      maxReplicas: 4,
    });
    for (const cj of byKind(objects, 'CronJob')) expect(spec(cj).suspend).toBe(true);
    expect(byKind(objects, 'PodDisruptionBudget')).toHaveLength(0);
  });

  it('prod: the replicas of the parameters, a PDB, spread over zones and nodes', async () => {
    const objects = await build(params, 'prod');
    const [d] = byKind(objects, 'Deployment');
    expect(spec(d!).replicas).toBe(params.replicas);
    const pod = podSpecOf(d!);
    expectServingPod(pod, params, ferryHome);
    const keys = (pod.topologySpreadConstraints as Array<{ topologyKey: string }>).map((t) => t.topologyKey);
    expect(keys).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
    expect(byKind(objects, 'PodDisruptionBudget')).toHaveLength(1);
    for (const cj of byKind(objects, 'CronJob')) expect(spec(cj).suspend).toBeUndefined();
  });

  it('argo-canary: a Rollout instead of the Deployment, the HPA scaling it', async () => {
    const objects = await build(params, 'argo-canary');
    expect(byKind(objects, 'Deployment')).toHaveLength(0);
    const [r] = byKind(objects, 'Rollout');
    expectServingPod(podSpecOf(r!), params, ferryHome);
    expect(spec(byKind(objects, 'HorizontalPodAutoscaler')[0]!).scaleTargetRef).toEqual({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      name: params.appName,
    });
    expect(byKind(objects, 'PodDisruptionBudget')).toHaveLength(1);
  });
});

describe('kubectl', () => {
  it.skipIf(hasKubectl || process.env.CI === undefined)(
    'is installed on CI (the kustomize tests need it)',
    () => {
      throw new Error('kubectl not found: CI must run the kubectl kustomize tests');
    },
  );
});

describe('dev overlay sizing', () => {
  it('devNamespace stays a DNS label of at most 63 characters', () => {
    expect(devNamespace('ferry')).toBe('ferry-dev');
    const long = `a${'-b'.repeat(31)}`; // 63 characters
    const dev = devNamespace(long);
    expect(dev.length).toBeLessThanOrEqual(63);
    expect(dev).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(dev.endsWith('-dev')).toBe(true);
  });

  it('devResources halves CPU and memory, never below 50m and 128Mi', () => {
    const at = (cpu: string, memory: string) => devResources({ ...PARAM_SETS[0]![1], cpu, memory });
    expect(at('1', '512Mi')).toEqual({ cpu: '500m', memory: '256Mi' });
    expect(at('2.5', '1Gi')).toEqual({ cpu: '1250m', memory: '512Mi' });
    expect(at('50m', '128Mi')).toEqual({ cpu: '50m', memory: '128Mi' });
    expect(at('500m', '1G')).toEqual({ cpu: '250m', memory: '476Mi' });
  });
});
