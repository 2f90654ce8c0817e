/**
 * Helpers for the batch job tests: a registry with one small model in a temporary FERRY_HOME
 * (SQLite by default, or any FERRY_DB), and inputs generated from the shipped sample dataset.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { type FerryContext, openFerry } from '../../src/app/open-ferry.js';
import { PredictionStore } from '../../src/batch/prediction-store.js';
import { type FerryConfig, loadConfig } from '../../src/core/config.js';
import { SAMPLE_DATASET_PATH } from '../../src/train/load-dataset.js';
import { registerTrained } from '../../src/train/register-trained.js';
import { FERRY_NODE_ARGS } from '../helpers/cli.js';
import { MODEL, trainSmall, V1_SPEC } from '../helpers/serving.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';

export { MODEL };

const ROOT = resolve(import.meta.dirname, '../..');

export type Project = {
  id: string;
  title: string;
  description: string;
};

let sample: { title: string; description: string }[] | undefined;
function sampleProjects(): { title: string; description: string }[] {
  sample ??= (
    parse(readFileSync(SAMPLE_DATASET_PATH), { columns: true }) as { title: string; description: string }[]
  ).map((r) => ({ title: r.title, description: r.description }));
  return sample;
}

/** `n` projects cycling through the sample's 160 texts, with new ids `<prefix>0000001`, … */
export function generateProjects(n: number, prefix = 'e-'): Project[] {
  const texts = sampleProjects();
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${String(i + 1).padStart(7, '0')}`,
    ...texts[i % texts.length]!,
  }));
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function csvText(rows: readonly Record<string, string>[], columns = ['id', 'title', 'description']): string {
  const lines = [columns.join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvField(r[c] ?? '')).join(','));
  return `${lines.join('\n')}\n`;
}

export function writeCsv(path: string, rows: readonly Record<string, string>[], columns?: string[]): string {
  writeFileSync(path, csvText(rows, columns));
  return path;
}

export function writeJsonl(path: string, rows: readonly unknown[]): string {
  writeFileSync(path, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return path;
}

export interface BatchEnv {
  home: string;
  config: FerryConfig;
  ferry: FerryContext;
  store: PredictionStore;
  /** Environment for the CLI in a child process on the same registry. */
  env: Record<string, string | undefined>;
  close(): Promise<void>;
}

/**
 * A FERRY_HOME with `tagifai/1` (a small model trained on the sample) as production. `db`: a
 * FERRY_DB URL (default: SQLite in the home).
 */
export async function createBatchEnv(db?: string): Promise<BatchEnv> {
  const dir = await makeTmpDir('ferry-batch-');
  const config = loadConfig(db === undefined ? {} : { FERRY_DB: db }, { home: dir.path });
  const ferry = await openFerry(config);
  try {
    const { version } = await registerTrained(ferry.registry, trainSmall(V1_SPEC), {
      name: MODEL,
      promote: false,
      force: false,
      alias: 'production',
      gitCommit: null,
    });
    await ferry.registry.setAlias(MODEL, 'production', version.version, 'test setup');
  } catch (e) {
    await ferry.close();
    await dir.remove();
    throw e;
  }
  const store = new PredictionStore({ sql: ferry.sql });
  await store.init();
  return {
    home: dir.path,
    config,
    ferry,
    store,
    env: {
      FERRY_HOME: dir.path,
      FERRY_DB: db,
      FERRY_ARTIFACTS: undefined,
      DATASET_LOC: undefined,
      FORCE_COLOR: '0',
    },
    close: async () => {
      await ferry.close().catch(() => {});
      await dir.remove();
    },
  };
}

/** Runs `ferry <args>` from source in its own node process (so that a test can SIGKILL it). */
export function spawnCli(
  args: string[],
  env: Record<string, string | undefined>,
): ChildProcess & {
  output: () => { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
} {
  const child = spawn(process.execPath, [...FERRY_NODE_ARGS, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
    child.on('close', (code, signal) => res({ code, signal }));
  });
  return Object.assign(child, { output: () => ({ stdout, stderr }), exited });
}

/** Runs `ferry <args>` to the end: exit code and output. */
export async function runFerry(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnCli(args, env);
  const { code } = await child.exited;
  return { code, ...child.output() };
}
