import AjvModule from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';

/*
 * Every operation of /openapi.json lists the statuses it can answer (not only 200), with Ferry's
 * error schema ({"error": string} on /v2), the x-request-id response header, and on the prediction
 * routes the X-Ferry-Unit request header; and the document stays a well-formed OpenAPI 3.0 one.
 */

type Json = Record<string, unknown>;
interface Operation {
  parameters?: { name: string; in: string; required?: boolean; schema?: Json }[];
  requestBody?: Json;
  responses: Record<
    string,
    { description?: string; headers?: Record<string, Json>; content?: Record<string, { schema: Json }> }
  >;
  security?: unknown[];
  [key: string]: unknown;
}
interface Doc {
  openapi: string;
  info: Json;
  paths: Record<string, Record<string, Operation>>;
}

let reg: TestRegistry;
let server: TestServer;
let doc: Doc;
const operations: { method: string; path: string; op: Operation }[] = [];
beforeAll(async () => {
  reg = await createTestRegistry();
  server = await startTestServer({
    registry: reg,
    adminToken: ADMIN_TOKEN,
    listen: false,
    config: { predictionsToken: 'predictions-secret' },
  });
  const res = await server.app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  doc = res.json() as Doc;
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods))
      operations.push({ method: method.toUpperCase(), path, op });
  }
});
afterAll(async () => {
  await server?.close();
  await reg?.close();
});

function conforms(value: unknown, shape: Json): boolean {
  try {
    expect(value).toMatchObject(shape);
    return true;
  } catch {
    return false;
  }
}

const errorSchemaOf = (op: Operation, status: string) =>
  op.responses[status]?.content?.['application/json']?.schema as Json | undefined;

describe('every operation lists its statuses', () => {
  it('covers the whole API: course, v2, admin, stored predictions, experiments, metrics', () => {
    expect(operations.length).toBeGreaterThanOrEqual(28);
    for (const path of [
      '/predict',
      '/v2/models/{model}/infer',
      '/v1/models',
      '/v1/experiments',
      '/metrics',
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
    expect(doc.paths).toHaveProperty(['/v1/predictions/{model}/{entityId}']);
  });

  it('a success status and 400, 500 and 503 everywhere; 401 with a token, 404 with a path parameter, 413 and 415 with a body', () => {
    for (const { method, path, op } of operations) {
      const statuses = Object.keys(op.responses);
      const where = `${method} ${path}: ${statuses.join(',')}`;
      expect(
        statuses.some((s) => s.startsWith('2')),
        where,
      ).toBe(true);
      for (const s of ['400', '500', '503']) expect(statuses, where).toContain(s);
      if (op.security !== undefined) expect(statuses, where).toContain('401');
      if (path.includes('{')) expect(statuses, where).toContain('404');
      if (method === 'POST' || method === 'PUT') {
        expect(statuses, where).toContain('413');
        expect(statuses, where).toContain('415');
      }
    }
  });

  it('the experiment operations list their 409s, creation its 201, events their optional token (401)', () => {
    const statuses = (method: string, path: string) => Object.keys(doc.paths[path]![method]!.responses);
    expect(statuses('post', '/v1/experiments')).toEqual(expect.arrayContaining(['201', '409']));
    expect(statuses('post', '/v1/experiments')).not.toContain('200');
    for (const action of ['pause', 'resume', 'stop', 'promote', 'abort', 'conclude']) {
      expect(statuses('post', `/v1/experiments/{id}/${action}`)).toContain('409');
    }
    expect(statuses('post', '/v1/experiments/{id}/events')).toEqual(expect.arrayContaining(['401', '409']));
  });

  it("errors have Ferry's schema, or the protocol's {error: string} on /v2 (but a readiness 503 may be its body)", () => {
    for (const { method, path, op } of operations) {
      for (const status of Object.keys(op.responses).filter((s) => Number(s) >= 400)) {
        const schema = errorSchemaOf(op, status);
        const where = `${method} ${path} ${status}`;
        expect(schema, where).toBeDefined();
        expect(op.responses[status]!.description, where).toMatch(/\w/);
        const v2 = path.startsWith('/v2');
        const shape = v2
          ? { type: 'object', properties: { error: { type: 'string' } } }
          : {
              type: 'object',
              properties: { error: { type: 'object', properties: { code: { type: 'string' } } } },
            };
        if (v2 && path.endsWith('/ready') && status === '503') {
          const branches = schema!.oneOf as Json[];
          expect(
            branches.filter((b) => conforms(b, shape)),
            where,
          ).toHaveLength(1);
        } else {
          expect(schema, where).toMatchObject(shape);
        }
      }
    }
  });

  it('x-request-id on every answer and as a request header; X-Ferry-Unit and x-ferry-* on the prediction routes', () => {
    for (const { method, path, op } of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.headers, `${method} ${path} ${status}`).toHaveProperty(['x-request-id']);
      }
      const headers = (op.parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name);
      expect(headers, `${method} ${path}`).toContain('x-request-id');
      const predicts = path === '/predict' || path.endsWith('/infer');
      expect(headers.includes('x-ferry-unit'), `${method} ${path}`).toBe(predicts);
      if (predicts) {
        expect(op.responses['200']!.headers).toHaveProperty(['x-ferry-model']);
        expect(op.responses['200']!.headers).toHaveProperty(['x-ferry-arm']);
      }
    }
    expect(doc.paths['/v1/models']!.get!.responses['401']!.headers).toHaveProperty(['www-authenticate']);
    expect(doc.paths['/predict']!.post!.responses['503']!.headers).toHaveProperty(['retry-after']);
  });
});

// ajv is CommonJS; under NodeNext its default export arrives as the module object.
const Ajv = AjvModule.default;

describe('the document is well-formed OpenAPI 3.0', () => {
  const OPERATION_KEYS = [
    'summary',
    'description',
    'tags',
    'operationId',
    'parameters',
    'requestBody',
    'responses',
    'security',
    'deprecated',
  ];

  it('operations, parameters and responses have only the fields OpenAPI 3.0 defines', () => {
    expect(doc.openapi).toMatch(/^3\.0\.\d$/);
    for (const { method, path, op } of operations) {
      const where = `${method} ${path}`;
      for (const key of Object.keys(op)) expect(OPERATION_KEYS, `${where}: ${key}`).toContain(key);
      // Every {param} of the path is a required path parameter.
      for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
        expect(
          op.parameters?.find((p) => p.in === 'path' && p.name === name)?.required,
          `${where} ${name}`,
        ).toBe(true);
      }
      for (const p of op.parameters ?? []) {
        expect(['query', 'header', 'path', 'cookie'], where).toContain(p.in);
        expect(p.schema, `${where} ${p.name}`).toBeDefined();
      }
      for (const [status, response] of Object.entries(op.responses)) {
        expect(status, where).toMatch(/^[1-5]\d\d$/);
        expect(typeof response.description, `${where} ${status}`).toBe('string');
        for (const key of Object.keys(response))
          expect(['description', 'headers', 'content', 'links']).toContain(key);
        for (const header of Object.values(response.headers ?? {})) {
          for (const key of Object.keys(header)) expect(['description', 'schema', 'required']).toContain(key);
          expect(header.schema).toBeDefined();
        }
      }
    }
  });

  it('every schema compiles, with no JSON Schema type lists (3.0 has nullable and anyOf instead)', () => {
    const ajv = new Ajv({ strict: false });
    const typeLists: string[] = [];
    const walk = (node: unknown, at: string) => {
      if (Array.isArray(node)) {
        for (const [i, n] of node.entries()) walk(n, `${at}[${i}]`);
      } else if (node !== null && typeof node === 'object') {
        if (Array.isArray((node as Json).type)) typeLists.push(at);
        for (const [k, v] of Object.entries(node)) walk(v, `${at}.${k}`);
      }
    };
    for (const { method, path, op } of operations) {
      const schemas: Json[] = [];
      const body = op.requestBody as { content?: Record<string, { schema: Json }> } | undefined;
      for (const media of Object.values(body?.content ?? {})) schemas.push(media.schema);
      for (const response of Object.values(op.responses)) {
        for (const media of Object.values(response.content ?? {})) schemas.push(media.schema);
      }
      for (const schema of schemas) {
        expect(() => ajv.compile(schema), `${method} ${path}`).not.toThrow();
        walk(schema, `${method} ${path}`);
      }
    }
    expect(typeLists).toEqual([]);
  });
});
