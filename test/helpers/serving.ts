/**
 * Helpers for the HTTP tests of `ferry serve`: a real registry in a temporary FERRY_HOME holding
 * small models trained on the shipped sample, an in-process server (`openServing`) and the real CLI
 * server in a child process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openFerry } from '../../src/app/open-ferry.js';
import { type OpenServingOptions, openServing, type ServingRuntime } from '../../src/app/open-serving.js';
import { type FerryConfig, loadConfig } from '../../src/core/config.js';
import type { TextInput } from '../../src/model/model.js';
import type { TextClassifierParams } from '../../src/model/text-classifier.js';
import type { ModelRegistry } from '../../src/registry/model-registry.js';
import type { BatcherOptions } from '../../src/serving/adaptive-batcher.js';
import type { ServingLimits } from '../../src/serving/http/server-context.js';
import { loadServingConfig, type ServingConfig } from '../../src/serving/serving-config.js';
import { type Dataset, parseLabeledDataset } from '../../src/train/dataset.js';
import { SAMPLE_DATASET_PATH } from '../../src/train/load-dataset.js';
import { type TrainOutcome, trainTextClassifier } from '../../src/train/pipeline.js';
import { registerTrained } from '../../src/train/register-trained.js';
import { makeTmpDir } from './tmp-dir.js';

export const MODEL = 'tagifai';
export const CLASSES = ['computer-vision', 'mlops', 'natural-language-processing', 'other'] as const;
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

const ROOT = resolve(import.meta.dirname, '../..');

/** Projects the sample models tell apart (one per class for the first three). */
export const PROJECTS = {
  nlp: {
    title: 'Transfer learning with transformers',
    description: 'Using transformers for transfer learning on text classification tasks.',
  },
  cv: {
    title: 'Real-time pedestrian detection',
    description: 'YOLO-based object detection on street camera video at 30 frames per second.',
  },
  mlops: {
    title: 'Serving models with a feature store',
    description: 'Deploy, monitor and retrain models in production with CI/CD pipelines.',
  },
} satisfies Record<string, TextInput>;

let sample: Dataset | undefined;
export function sampleDataset(): Dataset {
  sample ??= parseLabeledDataset(readFileSync(SAMPLE_DATASET_PATH), 'sample-dataset.csv');
  return sample;
}

/** What distinguishes the two versions every test registry holds. */
export interface TrainSpec {
  seed: number;
  params?: Partial<TextClassifierParams>;
  refitOnAll?: boolean;
}
export const V1_SPEC: TrainSpec = { seed: 42 };
export const V2_SPEC: TrainSpec = { seed: 7, params: { C: 1 }, refitOnAll: false };

const trained = new Map<string, TrainOutcome>();
/** A small model on the sample (no tuning); memoised per spec within a test file. */
export function trainSmall(spec: TrainSpec): TrainOutcome {
  const key = JSON.stringify(spec);
  let outcome = trained.get(key);
  if (!outcome) {
    outcome = trainTextClassifier(sampleDataset(), {
      seed: spec.seed,
      tune: false,
      ...(spec.params ? { params: spec.params } : {}),
      ...(spec.refitOnAll !== undefined ? { refitOnAll: spec.refitOnAll } : {}),
    });
    trained.set(key, outcome);
  }
  return outcome;
}

export interface TestRegistry {
  /** The FERRY_HOME directory. */
  home: string;
  config: FerryConfig;
  /** A registry on its own connection to the same database the servers use. */
  registry: ModelRegistry;
  /** Moves `production` (or another alias) in the registry; servers see it on refresh. */
  setAlias(version: number, alias?: string): Promise<void>;
  production(): Promise<number | undefined>;
  /** Closes the connection and deletes the directory. */
  close(): Promise<void>;
}

export interface TestRegistryOptions {
  /** Versions registered in order as 1, 2, …; default [V1_SPEC, V2_SPEC]. */
  versions?: TrainSpec[];
  /** Where production points; default 1. Null: no alias at all. */
  production?: number | null;
  /** FERRY_DB of the registry; default SQLite in the temporary home. */
  db?: string;
}

/** A registry in a fresh temporary FERRY_HOME with trained versions and production pointed. */
export async function createTestRegistry(opts: TestRegistryOptions = {}): Promise<TestRegistry> {
  const dir = await makeTmpDir('ferry-serving-');
  const config = loadConfig({}, opts.db === undefined ? { home: dir.path } : { home: dir.path, db: opts.db });
  const ferry = await openFerry(config);
  try {
    for (const spec of opts.versions ?? [V1_SPEC, V2_SPEC]) {
      await registerTrained(ferry.registry, trainSmall(spec), {
        name: MODEL,
        promote: false,
        force: false,
        alias: 'production',
        gitCommit: null,
      });
    }
    const production = opts.production === undefined ? 1 : opts.production;
    if (production !== null) await ferry.registry.setAlias(MODEL, 'production', production, 'test setup');
  } catch (e) {
    await ferry.close();
    await dir.remove();
    throw e;
  }
  const registry = ferry.registry;
  return {
    home: dir.path,
    config,
    registry,
    setAlias: async (version, alias = 'production') => {
      await registry.setAlias(MODEL, alias, version, 'test');
    },
    production: async () => (await registry.aliases(MODEL)).production,
    close: async () => {
      await ferry.close().catch(() => {});
      await dir.remove();
    },
  };
}

export interface TestServerOptions {
  /** Reuse a registry (several servers on one FERRY_HOME); created (and removed on close) otherwise. */
  registry?: TestRegistry;
  registryOptions?: TestRegistryOptions;
  /** Flags as `ferry serve` takes them (cache, predictionLog, maxBatchSize, …). */
  flags?: Partial<Record<string, string>>;
  /** Field overrides applied after loadServingConfig. */
  config?: Partial<Omit<ServingConfig, 'batcher' | 'limits'>>;
  batcher?: Partial<BatcherOptions>;
  limits?: Partial<ServingLimits>;
  adminToken?: string;
  /** Listen on 127.0.0.1, port 0 (default true); false for app.inject only. */
  listen?: boolean;
  logger?: OpenServingOptions['logger'];
  /** Replaces loaded models (a faulty or slow version), see OpenServingOptions.wrapModel. */
  wrapModel?: OpenServingOptions['wrapModel'];
}

export interface TestServer {
  runtime: ServingRuntime;
  app: ServingRuntime['app'];
  /** `http://127.0.0.1:<port>` when listening, '' otherwise. */
  url: string;
  reg: TestRegistry;
  sc: ServingConfig;
  /** Closes the server, then the registry if this server created it. */
  close(): Promise<void>;
}

/** The serving config of a test: loopback, port 0, memory cache, no prediction log, no alias polling. */
function testServingConfig(opts: TestServerOptions = {}): ServingConfig {
  const base = loadServingConfig(
    {},
    { host: '127.0.0.1', port: '0', cache: 'memory:', predictionLog: 'off', ...opts.flags },
  );
  return {
    ...base,
    aliasPollMs: 0,
    shutdownTimeoutMs: 5000,
    ...opts.config,
    adminToken: opts.adminToken ?? opts.config?.adminToken,
    batcher: { ...base.batcher, ...opts.batcher } as ServingConfig['batcher'],
    limits: { ...base.limits, ...opts.limits },
  };
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const owned = opts.registry === undefined;
  const reg = opts.registry ?? (await createTestRegistry(opts.registryOptions));
  const sc = testServingConfig(opts);
  let runtime: ServingRuntime;
  try {
    runtime = await openServing(reg.config, sc, {
      ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
      ...(opts.wrapModel !== undefined ? { wrapModel: opts.wrapModel } : {}),
    });
  } catch (e) {
    if (owned) await reg.close();
    throw e;
  }
  let url = '';
  if (opts.listen !== false) {
    url = await runtime.app.listen({ host: '127.0.0.1', port: 0 });
  } else {
    await runtime.app.ready();
  }
  return {
    runtime,
    app: runtime.app,
    url,
    reg,
    sc,
    close: async () => {
      await runtime.close().catch(() => {});
      if (owned) await reg.close();
    },
  };
}

/** Parses the Prometheus text format into `name{labels}` → value (labels as printed). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** Sum of every sample of `name` whose labels include all of `labels`. */
export function metricSum(
  metrics: Map<string, number>,
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  for (const [key, value] of metrics) {
    const brace = key.indexOf('{');
    const metric = brace === -1 ? key : key.slice(0, brace);
    if (metric !== name) continue;
    const labelText = brace === -1 ? '' : key.slice(brace);
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) sum += value;
  }
  return sum;
}

/** A JSON body as a v2 infer request for `items`. */
export function v2Request(items: readonly TextInput[], id?: string): Record<string, unknown> {
  return {
    ...(id !== undefined ? { id } : {}),
    inputs: [
      { name: 'title', datatype: 'BYTES', shape: [items.length], data: items.map((i) => i.title) },
      {
        name: 'description',
        datatype: 'BYTES',
        shape: [items.length],
        data: items.map((i) => i.description),
      },
    ],
  };
}

/** Text that no stack trace leaked into the body. */
export const STACK_TRACE = /\n\s+at |\bat .+\.(ts|js):\d+/;

// ---------------------------------------------------------------------------------------------
// The real CLI server in a child process.

export interface ServeProcess {
  child: ChildProcess;
  /** Resolves with the listening address from the "ferry serving" log line. */
  address: Promise<string>;
  /** Time (performance.now()) the "ferry serving" line was read, once it was. */
  servingLoggedAt(): number | undefined;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal) and the signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running. */
  kill(): void;
}

/**
 * Runs `ferry serve` from source in its own node process (`node --import tsx`, so signals reach
 * the server directly), with FERRY_HOME = `home` and the given extra arguments.
 */
export function spawnServe(
  home: string,
  args: string[] = [],
  env: Record<string, string | undefined> = {},
): ServeProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', resolve(ROOT, 'src/cli/index.ts'), 'serve', '--host', '127.0.0.1', ...args],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        FORCE_COLOR: '0',
        FERRY_HOME: home,
        FERRY_DB: undefined,
        FERRY_ARTIFACTS: undefined,
        FERRY_CACHE: undefined,
        FERRY_ADMIN_TOKEN: undefined,
        FERRY_LOG_LEVEL: 'info',
        FERRY_LOG_FORMAT: 'json',
        PORT: undefined,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  let pending = '';
  let loggedAt: number | undefined;
  let resolveAddress: (a: string) => void = () => {};
  let rejectAddress: (e: Error) => void = () => {};
  const address = new Promise<string>((res, rej) => {
    resolveAddress = res;
    rejectAddress = rej;
  });
  address.catch(() => {});
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    pending += d.toString();
    let nl = pending.indexOf('\n');
    while (nl !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      nl = pending.indexOf('\n');
      try {
        const rec = JSON.parse(line) as { msg?: string; address?: string };
        if (typeof rec.msg === 'string' && rec.msg.includes('ferry serving') && rec.address) {
          loggedAt ??= performance.now();
          resolveAddress(rec.address);
        }
      } catch {
        // not a pino line
      }
    }
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.on('exit', (code, signal) => {
      rejectAddress(new Error(`ferry serve exited (${code ?? signal}) before serving:\n${out}\n${err}`));
      res({ code, signal });
    });
  });
  return {
    child,
    address,
    servingLoggedAt: () => loggedAt,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
