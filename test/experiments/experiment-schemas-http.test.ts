import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '../../src/core/errors.js';
import { schemaProblem } from '../../src/core/schema-check.js';
import { parseExperimentDefinition } from '../../src/experiments/experiment-definition.js';
import {
  definitionSchema,
  eventsBodySchema,
  exclusionSchema,
} from '../../src/experiments/experiment-schemas.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  STACK_TRACE,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';
import { abRaw } from './helpers.js';

/*
 * One source of truth for the experiments API's bodies: a body refused by the schema (at the route,
 * before the handler) and a body refused by the parser's own rules (after the schema) answer the
 * same 400 in the same shape; the CLI's parser refuses the schema's bodies with the same code and
 * field; /openapi.json shows the schema that is applied.
 */

let reg: TestRegistry;
let server: TestServer;
beforeAll(async () => {
  reg = await createTestRegistry();
  server = await startTestServer({
    registry: reg,
    adminToken: ADMIN_TOKEN,
    listen: false,
    config: { experimentPollMs: 0 },
  });
});
afterAll(async () => {
  await server?.close();
  await reg?.close();
});

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const NAME = 'schemas-ab';
const post = (url: string, payload: unknown, headers: Record<string, string> = auth) =>
  server.app.inject({ method: 'POST', url, payload: payload as object, headers });

type ErrorBody = { error: { code: string; message: string; details: { field?: unknown } } };

/** The answer is a 400 in Ferry's shape with `code` and a details.field; returns the error. */
function refused(res: LightMyRequestResponse, code: string): ErrorBody['error'] {
  expect(res.statusCode, res.body).toBe(400);
  expect(res.body).not.toMatch(STACK_TRACE);
  const body = res.json() as ErrorBody;
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message']);
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe('string');
  expect(typeof body.error.details.field).toBe('string');
  return body.error;
}

/** Both bodies are refused with the same code and shape; the first by the schema, the second not. */
async function sameRefusal(
  url: string,
  schema: Parameters<typeof schemaProblem>[0] | undefined,
  bySchema: unknown,
  byParser: unknown,
  code = 'FERRY_EXPERIMENT_INVALID',
) {
  if (schema !== undefined) {
    expect(schemaProblem(schema, bySchema), 'the schema refuses the first').toBeDefined();
    expect(schemaProblem(schema, byParser), 'the schema accepts the second').toBeUndefined();
  }
  const a = refused(await post(url, bySchema), code);
  const b = refused(await post(url, byParser), code);
  return [a, b] as const;
}

describe('a body the schema refuses and a body the parser refuses: the same 400', () => {
  it('POST /v1/experiments, and the CLI parser gives the same code and field', async () => {
    const bySchema = abRaw({
      name: NAME,
      arms: [
        { name: 'control', version: '1' },
        { name: 't', version: 2 },
      ],
    });
    const byParser = abRaw({
      name: NAME,
      arms: [
        { name: 'same', version: 1 },
        { name: 'same', version: 2 },
      ],
    });
    const [a] = await sameRefusal('/v1/experiments', definitionSchema, bySchema, byParser);
    expect(a.details.field).toBe('arms[0].version');
    try {
      parseExperimentDefinition(bySchema);
      expect.unreachable('the parser refuses what the schema refuses');
    } catch (e) {
      expect(e).toBeInstanceOf(FerryError);
      expect({
        code: (e as FerryError).code,
        status: (e as FerryError).status,
        ...(e as FerryError).details,
      }).toEqual({ code: a.code, status: 400, ...a.details });
      expect((e as FerryError).message).toBe(a.message);
    }
  });

  it('weights: out of range (schema) and not summing to 1 (parser) are both FERRY_EXPERIMENT_INVALID_WEIGHTS', async () => {
    const arms = (w0: number, w1: number) => [
      { name: 'control', version: 1, weight: w0 },
      { name: 'treatment', version: 2, weight: w1 },
    ];
    const [a] = await sameRefusal(
      '/v1/experiments',
      definitionSchema,
      abRaw({ name: NAME, arms: arms(1.5, -0.5) }),
      abRaw({ name: NAME, arms: arms(0.5, 0.4) }),
      'FERRY_EXPERIMENT_INVALID_WEIGHTS',
    );
    expect(a.details.field).toBe('arms[0].weight');
  });

  it('an unknown field is refused by the schema with its name, not stripped', async () => {
    const error = refused(
      await post('/v1/experiments', abRaw({ name: NAME, colour: 'red' })),
      'FERRY_EXPERIMENT_INVALID',
    );
    expect(error.details.field).toBe('colour');
    expect(error.message).toMatch(/unknown field "colour"/);
  });

  describe('on an experiment', () => {
    beforeAll(async () => {
      const res = await post('/v1/experiments', abRaw({ name: NAME }));
      expect(res.statusCode, res.body).toBe(201);
    });

    it('events: a value of the wrong type (schema) and an unknown metric (parser)', async () => {
      const event = { unit: 'u1', metric: 'accepted', value: 1, event_id: 'e1' };
      const [a, b] = await sameRefusal(
        `/v1/experiments/${NAME}/events`,
        eventsBodySchema,
        { events: [{ ...event, value: 'yes' }] },
        { events: [{ ...event, metric: 'revenue' }] },
      );
      expect([a.details.field, b.details.field]).toEqual(['events[0].value', 'events[0].metric']);
    });

    it('events/exclude: a reason of the wrong type (schema) and a blank reason (parser)', async () => {
      await sameRefusal(
        `/v1/experiments/${NAME}/events/exclude`,
        exclusionSchema,
        { unit: 'u1', reason: 5 },
        { unit: 'u1', reason: '   ' },
      );
    });

    it('conclude: a winner of the wrong type (schema) and an arm that does not exist (service)', async () => {
      await sameRefusal(`/v1/experiments/${NAME}/conclude`, undefined, { winner: 5 }, { winner: 'nobody' });
    });

    it('promote: an unknown field is refused (schema), an absent body is not', async () => {
      refused(await post(`/v1/experiments/${NAME}/promote`, { colour: 1 }), 'FERRY_EXPERIMENT_INVALID');
      const res = await server.app.inject({
        method: 'POST',
        url: `/v1/experiments/${NAME}/promote`,
        headers: auth,
      });
      // Not a canary: the body was fine, the experiment's type is not.
      expect(res.statusCode, res.body).toBe(409);
    });
  });
});

describe('/openapi.json shows the schemas that are applied', () => {
  it('the experiment definition, the events and the exclusion bodies are the validating schemas', async () => {
    const doc = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    const body = (path: string) => doc.paths[path]!.post!.requestBody!.content['application/json']!.schema;
    expect(body('/v1/experiments')).toMatchObject({
      additionalProperties: false,
      required: [...definitionSchema.required],
      properties: { arms: { maxItems: definitionSchema.properties.arms.maxItems } },
    });
    expect(body('/v1/experiments/{id}/events/exclude')).toMatchObject({
      required: ['reason'],
      additionalProperties: false,
    });
    expect(body('/v1/experiments/{id}/events')).toHaveProperty('oneOf');
  });
});
