/** Shared pieces of the experiment tests: definitions, a manual clock, a PostgreSQL-backed test registry. */
import { parseExperimentDefinition } from '../../src/experiments/experiment-definition.js';
import type { ExperimentDefinition } from '../../src/experiments/experiment-types.js';
import { freshSchema, pgUrl } from '../helpers/postgres.js';
import { createTestRegistry, MODEL, type TestRegistry } from '../helpers/serving.js';

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
  const schema = freshSchema();
  const registry = await createTestRegistry({ db: `${pgUrl()}?schema=${schema}` });
  return { ...registry, schema };
}

/** n unit ids that look like user ids. */
export function units(n: number, prefix = 'user-'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}
