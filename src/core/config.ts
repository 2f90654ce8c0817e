import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ErrorCode, FerryError } from './errors.js';

/** Ferry's configuration: one schema, defaults here, environment overrides, validated once, frozen. */
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

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<FerryConfig> = {},
  cwd: string = process.cwd(),
): FerryConfig {
  const home = resolve(overrides.home ?? env.FERRY_HOME ?? join(findProjectDir(cwd), '.ferry'));
  const seedText = env.FERRY_SEED ?? '42';
  const seed = overrides.seed ?? Number(seedText);
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) {
    throw new FerryError(
      ErrorCode.CONFIG_INVALID,
      `FERRY_SEED must be an integer in [0, 2^32), got "${seedText}"`,
    );
  }
  const db = overrides.db ?? env.FERRY_DB ?? `sqlite:${join(home, 'ferry.db')}`;
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(db)) {
    throw new FerryError(
      ErrorCode.CONFIG_INVALID,
      `FERRY_DB must start with sqlite: or postgres://, got "${db.replace(/\/\/[^@/]*@/, '//***@')}"`,
    );
  }
  return Object.freeze({
    home,
    db,
    artifacts: resolve(overrides.artifacts ?? env.FERRY_ARTIFACTS ?? join(home, 'artifacts')),
    cacheDir: resolve(overrides.cacheDir ?? env.FERRY_CACHE_DIR ?? join(home, 'cache')),
    datasetLoc: overrides.datasetLoc ?? (env.DATASET_LOC || undefined),
    seed,
  });
}
