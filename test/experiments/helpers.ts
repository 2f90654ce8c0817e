/** Shared pieces of the experiment tests: definitions, a manual clock, a PostgreSQL-backed test registry. */
import { openFerry } from '../../src/adapters/open-ferry.js';
import { loadConfig } from '../../src/core/config.js';
import { parseExperimentDefinition } from '../../src/experiments/experiment-definition.js';
import type { ExperimentDefinition } from '../../src/experiments/experiment-types.js';
import { registerTrained } from '../../src/train/register-trained.js';
import { freshSchema, pgUrl } from '../helpers/postgres.js';
import { MODEL, type TestRegistry, trainSmall, V1_SPEC, V2_SPEC } from '../helpers/serving.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';

/** A raw A/B definition over tagifai v1 (control) and v2 (treatment), 50/50, one binary metric. */
export function abRaw(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'tagifai-ab-1',
    type: 'ab',
    model: MODEL,
    arms: [
      { name: 'control', version: 1, weight: 0.5 },
      { name: 'treatment', version: 2, weight: 0.5 },
    ],
    metrics: [{ name: 'accepted', kind: 'binary' }],
    ...overrides,
  };
}

export function abDefinition(overrides: Record<string, unknown> = {}): ExperimentDefinition {
  return parseExperimentDefinition(abRaw(overrides));
}

export function manualClock(start = Date.parse('2025-06-01T00:00:00.000Z')) {
  let now = start;
  return {
    clock: () => new Date(now),
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

/**
 * A registry on a fresh PostgreSQL schema (artifacts in a temporary FERRY_HOME), holding the two
 * sample versions with production at 1; servers opened with its `config` share the schema.
 */
export async function createPgTestRegistry(): Promise<TestRegistry & { schema: string }> {
  const dir = await makeTmpDir('ferry-experiments-pg-');
  const schema = freshSchema();
  const config = loadConfig({}, { home: dir.path, db: `${pgUrl()}?schema=${schema}` });
  const ferry = await openFerry(config);
  try {
    for (const spec of [V1_SPEC, V2_SPEC]) {
      await registerTrained(ferry.registry, trainSmall(spec), {
        name: MODEL,
        promote: false,
        force: false,
        alias: 'production',
        metric: 'val_f1',
        gitCommit: null,
      });
    }
    await ferry.registry.setAlias(MODEL, 'production', 1, 'test setup');
  } catch (e) {
    await ferry.close();
    await dir.remove();
    throw e;
  }
  const registry = ferry.registry;
  return {
    home: dir.path,
    schema,
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

/** n unit ids that look like user ids. */
export function units(n: number, prefix = 'user-'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}
