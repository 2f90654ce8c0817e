import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readSetting } from './settings/read-settings.js';

/** Where Ferry keeps its registry and data: the storage and training settings, resolved, frozen. */
export interface FerryConfig {
  /** Working directory for the embedded defaults (database, artifacts, caches). */
  readonly home: string;
  /** `sqlite:<path>` (default) or `postgres://…`. */
  readonly db: string;
  /** Directory of the artifact blob store. */
  readonly artifacts: string;
  readonly cacheDir: string;
  /** DATASET_LOC: a path or an http(s) URL; undefined means the course's public URL. */
  readonly datasetLoc: string | undefined;
  readonly seed: number;
  /** FERRY_MODEL_TIMEOUT_MS: one call into a custom model or a remote-v2 server. */
  readonly modelTimeoutMs: number;
}

/**
 * The project directory whose `.ferry` holds the registry: the nearest directory, from `cwd` up,
 * that contains `.ferry` or `package.json`; `cwd` itself when none does. So `ferry models list`
 * run from `docs/` finds the project's registry instead of making an empty one in `docs/.ferry`.
 */
export function findProjectDir(cwd: string): string {
  let dir = resolve(cwd);
  for (;;) {
    if (existsSync(join(dir, '.ferry')) || existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(cwd);
    dir = parent;
  }
}

/** Where the registry is, for messages: the SQLite file, or the PostgreSQL URL without credentials. */
export function describeRegistry(config: Pick<FerryConfig, 'db'>): string {
  return config.db.replace(/\/\/[^@/]*@/, '//').replace(/[?#].*$/, '');
}

/**
 * The registry's settings (declared in src/core/settings/catalogue.ts), validated by the settings
 * reader; `overrides` (flags such as `--dataset-loc`, `--seed`) win and are taken as given.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<FerryConfig> = {},
  cwd: string = process.cwd(),
): FerryConfig {
  const home = resolve(
    overrides.home ?? readSetting(env, 'FERRY_HOME') ?? join(findProjectDir(cwd), '.ferry'),
  );
  const seed = overrides.seed ?? readSetting(env, 'FERRY_SEED');
  const db = overrides.db ?? readSetting(env, 'FERRY_DB') ?? `sqlite:${join(home, 'ferry.db')}`;
  return Object.freeze({
    home,
    db,
    artifacts: resolve(overrides.artifacts ?? readSetting(env, 'FERRY_ARTIFACTS') ?? join(home, 'artifacts')),
    cacheDir: resolve(overrides.cacheDir ?? readSetting(env, 'FERRY_CACHE_DIR') ?? join(home, 'cache')),
    datasetLoc: overrides.datasetLoc ?? readSetting(env, 'DATASET_LOC'),
    seed,
    modelTimeoutMs: overrides.modelTimeoutMs ?? readSetting(env, 'FERRY_MODEL_TIMEOUT_MS'),
  });
}
