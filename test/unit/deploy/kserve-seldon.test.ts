import { describe, expect, it } from 'vitest';
import type { RenderedFile } from '../../../src/deploy/deploy-types.js';
import {
  CANARY_ALIAS,
  CANARY_TRAFFIC_PERCENT,
  KSERVE_CONTAINER,
  KSERVE_PORT,
  kserveTarget,
} from '../../../src/deploy/targets/kserve.js';
import {
  SELDON_CAPABILITY,
  SELDON_SERVER_CONTAINER,
  SELDON_SERVER_HTTP_PORT,
  seldonModelName,
  seldonTarget,
} from '../../../src/deploy/targets/seldon.js';
import {
  containersOf,
  expectFerryCommand,
  expectHeader,
  expectLockedDown,
  expectProbes,
  expectResources,
  expectSecretEnv,
  fileOf,
  PARAM_SETS,
} from './k8s-checks.js';
import { type K8sObject, parseYamlDocuments, validateObject } from './manifest-validation.js';

type Obj = Record<string, unknown>;

function only(files: readonly RenderedFile[], path: string): K8sObject {
  const [d, ...rest] = parseYamlDocuments(fileOf(files, path).content);
  expect(rest).toEqual([]);
  validateObject(d!);
  return d!;
}

function envOf(c: { env?: Array<{ name: string; value?: string }> }): Record<string, string | undefined> {
  return Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
}

describe.each(PARAM_SETS)('ferry deploy render kserve, %s', (_label, params) => {
  const files = kserveTarget.render(params);

  it('renders an InferenceService and its canary variant, valid against the CRD subset', () => {
    expect(files.map((f) => f.path)).toEqual(['inferenceservice.yaml', 'inferenceservice-canary.yaml']);
    for (const f of files) expectHeader(f, 'kserve');
    for (const f of files) only(files, f.path);
    expect(kserveTarget.render(params)).toEqual(files);
  });

  it('a custom v2 container on 8080: image, probes on Ferry routes, non-root, resources, secrets', () => {
    for (const path of ['inferenceservice.yaml', 'inferenceservice-canary.yaml']) {
      const isvc = only(files, path);
      expect(isvc.metadata).toMatchObject({ name: params.appName, namespace: params.namespace });
      const predictor = (isvc.spec as { predictor: Obj }).predictor;
      expect(predictor.minReplicas).toBe(params.replicas);
      expect(predictor.maxReplicas).toBe(Math.max(4, 4 * params.replicas));
      const [c, ...others] = containersOf(predictor);
      expect(others).toEqual([]);
      expect(c!.name).toBe(KSERVE_CONTAINER);
      expect(c!.image).toBe(params.image);
      expect(c!.args).toEqual(['serve', '--port', String(KSERVE_PORT)]);
      expectFerryCommand(c!.args!, new Set());
      const env = envOf(c!);
      expect(env.PROTOCOL).toBe('v2');
      // Knative sets PORT itself and refuses it in a spec.
      expect('PORT' in env).toBe(false);
      expect(env.FERRY_MODELS).toBe(params.model.name);
      expect(env.FERRY_SHUTDOWN_TIMEOUT_MS).toBe(String(params.shutdownTimeoutMs));
      expectProbes(c!, KSERVE_PORT);
      expectLockedDown(c!);
      expectResources(c!, params.cpu, params.memory);
      expectSecretEnv(c!, params);
    }
  });

  it('the canary variant sends a share of the traffic to a revision following the staging alias', () => {
    const main = only(files, 'inferenceservice.yaml');
    const canary = only(files, 'inferenceservice-canary.yaml');
    const predictor = (o: K8sObject) => (o.spec as { predictor: Obj }).predictor;
    expect(predictor(main).canaryTrafficPercent).toBeUndefined();
    expect(predictor(canary).canaryTrafficPercent).toBe(CANARY_TRAFFIC_PERCENT);
    expect(envOf(containersOf(predictor(main))[0]!).FERRY_ALIASES).toBe(params.model.alias);
    expect(envOf(containersOf(predictor(canary))[0]!).FERRY_ALIASES).toBe(CANARY_ALIAS);
    // Same name and mode: applied over the first, it adds a revision (KServe cannot change a mode).
    expect(canary.metadata).toEqual(main.metadata);
  });

  it('the schema subset refuses what the CRD or KServe would (it is not a rubber stamp)', () => {
    const isvc = only(files, 'inferenceservice.yaml');
    const bad = (mutate: (o: K8sObject & { spec: { predictor: Obj } }) => void) => {
      const copy = structuredClone(isvc) as K8sObject & { spec: { predictor: Obj } };
      mutate(copy);
      return () => validateObject(copy);
    };
    expect(bad((o) => Object.assign(o.spec.predictor, { canaryTrafficPercent: 150 }))).toThrow(
      /canaryTrafficPercent/,
    );
    expect(bad((o) => Object.assign(o.spec.predictor, { canaryTrafficPrecent: 10 }))).toThrow(/additional/);
    expect(bad((o) => Object.assign(o.spec.predictor, { containers: [] }))).toThrow(/containers/);
    expect(
      bad((o) => {
        (o.spec.predictor.containers as Array<{ env: Obj[] }>)[0]!.env[0] = { name: 'PROTOCOL', value: 'v3' };
      }),
    ).toThrow(/PROTOCOL|contain/);
    // Embedded containers are checked by kubernetes-models.
    expect(
      bad((o) => {
        (o.spec.predictor.containers as Obj[])[0]!.resources = { limits: { cpu: ['1'] } };
      }),
    ).toThrow(/resources/);
  });
});

describe.each(PARAM_SETS)('ferry deploy render seldon, %s', (_label, params) => {
  const files = seldonTarget.render(params);

  it('renders a Server and a Model, valid against the CRD subset, saying they are partial', () => {
    expect(files.map((f) => f.path)).toEqual(['server.yaml', 'model.yaml']);
    for (const f of files) {
      expectHeader(f, 'seldon');
      expect(f.content).toMatch(/NOT working end to end/);
      only(files, f.path);
    }
  });

  it("the Server replaces mlserver's inference container with Ferry on SELDON_SERVER_HTTP_PORT", () => {
    const server = only(files, 'server.yaml');
    const spec = server.spec as {
      serverConfig: string;
      replicas: number;
      capabilities: string[];
      podSpec: Obj;
    };
    expect(server.metadata).toMatchObject({ name: params.appName, namespace: params.namespace });
    expect(spec.serverConfig).toBe('mlserver');
    expect(spec.replicas).toBe(params.replicas);
    expect(spec.capabilities).toEqual([SELDON_CAPABILITY]);
    const [c, ...others] = containersOf(spec.podSpec);
    expect(others).toEqual([]);
    expect(c!.name).toBe(SELDON_SERVER_CONTAINER);
    expect(c!.image).toBe(params.image);
    expect(c!.args).toEqual(['serve', '--port', String(SELDON_SERVER_HTTP_PORT)]);
    expectFerryCommand(c!.args!, new Set());
    expectProbes(c!, SELDON_SERVER_HTTP_PORT);
    expectLockedDown(c!);
    expectResources(c!, params.cpu, params.memory);
    expectSecretEnv(c!, params);
    expect(envOf(c!).FERRY_MODELS).toBe(params.model.name);
  });

  it('the Model requires the capability only this Server has', () => {
    const model = only(files, 'model.yaml');
    expect(model.metadata).toMatchObject({
      name: seldonModelName(params.model.name),
      namespace: params.namespace,
    });
    expect(model.spec).toMatchObject({
      requirements: [SELDON_CAPABILITY],
      server: params.appName,
      replicas: params.replicas,
    });
  });
});

describe('the Seldon schema subsets refuse what the CRDs would', () => {
  const files = seldonTarget.render(PARAM_SETS[0]![1]);
  const mutated = (path: string, mutate: (spec: Obj) => void) => {
    const o = structuredClone(parseYamlDocuments(fileOf(files, path).content)[0]!);
    mutate(o.spec as Obj);
    return () => validateObject(o);
  };

  it('a Model without storageUri, a Server without serverConfig or with an unknown field', () => {
    expect(mutated('model.yaml', () => {})).not.toThrow();
    expect(mutated('model.yaml', (s) => delete s.storageUri)).toThrow(/storageUri/);
    expect(mutated('server.yaml', (s) => delete s.serverConfig)).toThrow(/serverConfig/);
    expect(mutated('server.yaml', (s) => Object.assign(s, { replica: 2 }))).toThrow(/additional/);
    expect(mutated('server.yaml', (s) => Object.assign(s, { replicas: -1 }))).toThrow(/replicas/);
  });
});

describe('seldonModelName', () => {
  it('makes a Kubernetes name of any model name', () => {
    expect(seldonModelName('tagifai')).toBe('tagifai');
    expect(seldonModelName('spam_filter.v2')).toBe('spam-filter-v2');
    expect(seldonModelName('a_')).toBe('a');
  });
});
