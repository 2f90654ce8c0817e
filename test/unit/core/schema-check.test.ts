import AjvModule from 'ajv';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/core/random.js';
import { type JsonSchema, schemaProblem } from '../../../src/core/schema-check.js';
import {
  conclusionSchema,
  definitionSchema,
  eventsBodySchema,
  exclusionSchema,
  reasonSchema,
} from '../../../src/experiments/experiment-schemas.js';

// ajv (a devDependency) is the reference implementation of JSON Schema the interpreter must agree with.
const Ajv = AjvModule.default;
const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: false });
ajv.addKeyword('x-ferry-code');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const VALID: Record<string, { schema: JsonSchema; bodies: Json[] }> = {
  definition: {
    schema: definitionSchema,
    bodies: [
      {
        name: 'ab-1',
        model: 'tagifai',
        arms: [
          { name: 'control', version: 1, weight: 0.5 },
          { name: 'treatment', alias: 'candidate', weight: 0.5 },
        ],
        metrics: [{ name: 'accepted', kind: 'binary', tau: 0.1 }],
        analysis: { minUnitsPerArm: 50 },
        power: { baseline: 0.1, mde: 0.1, relative: true },
        coverage: 0.5,
        seed: 'seed',
        description: 'text',
      },
      {
        name: 'b',
        type: 'bandit',
        model: 'tagifai',
        arms: [
          { name: 'a', version: 1 },
          { name: 'b', version: 2 },
          { name: 'c', version: 3 },
        ],
        metrics: [{ name: 'seconds', kind: 'numeric', min: 0, max: 3600 }],
        bandit: { policy: 'ucb1', floor: 0.1, minUnitsPerArm: 0, updateEveryMs: 1000, rewardRange: 10 },
      },
      {
        name: 'c',
        type: 'canary',
        model: 'tagifai',
        arms: [
          { name: 'production', alias: 'production' },
          { name: 'canary', version: 2 },
        ],
        canary: { steps: [0.05, 1] },
      },
    ],
  },
  events: {
    schema: eventsBodySchema,
    bodies: [
      { unit: 'u1', metric: 'accepted', value: 1, event_id: 'e1' },
      { unit: 'u1', metric: 'seconds', value: 2.5, event_id: 'e1', at: '2025-06-01T00:00:00Z' },
      { events: [{ unit: 'u1', metric: 'accepted', value: true, event_id: 'e2' }] },
    ],
  },
  exclusion: {
    schema: exclusionSchema,
    bodies: [
      { reason: 'bot traffic', event_ids: ['e1', 'e2'] },
      { reason: 'r', unit: 'u1', metric: 'accepted', outOfRange: true, by: 'alice' },
    ],
  },
  conclusion: {
    schema: conclusionSchema,
    bodies: [{ winner: 'treatment', reason: 'r' }, { winner: null }, null],
  },
  reason: { schema: reasonSchema, bodies: [{ reason: 'why' }, {}, null] },
};

const ODD_VALUES: Json[] = [
  null,
  true,
  0,
  -1,
  0.5,
  1,
  1.5,
  2,
  21,
  -1e13,
  1e13,
  2_147_483_648,
  '',
  'x',
  'a b',
  '-x',
  'ab-2',
  'x'.repeat(65),
  'x'.repeat(101),
  'x'.repeat(257),
  '😀'.repeat(200),
  '😀'.repeat(300),
  'binary',
  'numeric',
  'ab',
  'shadow',
  'thompson',
  'epsilon-greedy',
  [],
  [1],
  ['a'],
  {},
  { name: 'm', kind: 'binary' },
  { name: 'x', version: 1 },
];

/** Every path of `value` (objects and arrays, recursively) with what is there. */
function paths(value: Json, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...paths(v, [...at, i]));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...at, k]));
  }
  return out;
}

function withAt(
  value: Json,
  path: (string | number)[],
  replace: (old: Json | undefined) => Json | undefined,
): Json {
  if (path.length === 0) return replace(value) ?? null;
  const copy = structuredClone(value) as Record<string | number, Json>;
  let node = copy;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    // After an earlier change the path may lead nowhere: then nothing more changes.
    if (next === null || typeof next !== 'object') return copy as Json;
    node = next as Record<string | number, Json>;
  }
  const last = path[path.length - 1]!;
  const next = replace(node[last]);
  if (next === undefined) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = next;
  return copy as Json;
}

/** Valid bodies, and each mutated at each path: replaced by odd values, removed, given an unknown key. */
function corpus(bodies: Json[]): Json[] {
  const random = seededRandom(9);
  const out: Json[] = [...bodies];
  for (const body of bodies) {
    for (const path of paths(body)) {
      for (const odd of ODD_VALUES) out.push(withAt(body, path, () => odd));
      out.push(withAt(body, path, () => undefined));
      out.push(
        withAt(body, path, (old) =>
          old !== null && typeof old === 'object' && !Array.isArray(old) ? { ...old, extra: 1 } : old,
        ),
      );
      // Two changes at once: the first problem found must still be a real one.
      const other = paths(body)[Math.floor(random() * paths(body).length)]!;
      const odd = ODD_VALUES[Math.floor(random() * ODD_VALUES.length)]!;
      out.push(
        withAt(
          withAt(body, path, () => odd),
          other,
          () => undefined,
        ),
      );
    }
  }
  return out;
}

describe('schemaProblem agrees with Ajv on the experiments API schemas', () => {
  for (const [name, { schema, bodies }] of Object.entries(VALID)) {
    it(`${name}: accepts exactly what Ajv accepts`, () => {
      const validate = ajv.compile(schema);
      let refused = 0;
      const all = corpus(bodies);
      for (const body of all) {
        const problem = schemaProblem(schema, body);
        expect(problem === undefined, `${JSON.stringify(body)}: ${problem?.message ?? 'accepted'}`).toBe(
          validate(body),
        );
        if (problem !== undefined) {
          refused++;
          expect(problem.field).not.toBe('');
          expect(problem.message.length).toBeGreaterThan(0);
        }
      }
      for (const body of bodies) expect(schemaProblem(schema, body)).toBeUndefined();
      // The corpus exercises refusals, not only acceptances.
      expect(refused).toBeGreaterThan(all.length / 4);
    });
  }

  it('names the path of the problem in Ferry style, and the code a schema assigns', () => {
    const body = structuredClone(VALID.definition!.bodies[0]) as { arms: { weight: number }[] };
    body.arms[1]!.weight = 2;
    expect(schemaProblem(definitionSchema, body)).toEqual({
      field: 'arms[1].weight',
      message: 'arms[1].weight must be within [0, 1]',
      code: 'FERRY_EXPERIMENT_INVALID_WEIGHTS',
    });
    expect(schemaProblem(definitionSchema, { ...(body as object), colour: 'red' })?.field).toBe('colour');
    expect(schemaProblem(eventsBodySchema, { events: [{ unit: 'u' }] })).toMatchObject({
      field: 'events[0].metric',
    });
  });
});
