/**
 * A seeded fuzzer: thousands of nasty requests through app.inject against /predict and the v2 infer
 * routes. Nothing may answer 5xx, every error must have its route's shape, and the server must still
 * answer correctly afterwards. Set FERRY_FUZZ_SEED to replay another sequence.
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/core/random.js';
import {
  CLASSES,
  PROJECTS,
  STACK_TRACE,
  startTestServer,
  type TestServer,
  v2Request,
} from '../helpers/serving.js';

const SEED = Number(process.env.FERRY_FUZZ_SEED ?? 20240611);
const REQUESTS = 3000;
const MAX_ITEMS = 50;

type Rng = () => number;

interface FuzzRequest {
  kind: string;
  url: string;
  headers: Record<string, string>;
  payload: string | Buffer;
}

// --- generators -------------------------------------------------------------------------------

const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Rng, p: number) => r() < p;

const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '😀🚀 emoji',
  'مرحبا بالعالم',
  'זה טקסט',
  '\u202e\u202d reversed',
  '\u2028\u2029',
  'Z̸̧̛̛a̴̛l̷g̷o̶',
  'ﬁﬂ ligatures ß ẞ İ ı',
  '<script>alert(1)</script>',
  "'; DROP TABLE ferry_models; --",
  '%s%n%x',
  '$' + '{jndi:ldap://x}',
  '__proto__',
  'constructor',
  '\\u0000',
  '\t\n\r\f\v',
  'a'.repeat(5000),
  '日本語のテキスト分類',
  'NaN',
  'Infinity',
  '-0',
  'null',
  'true',
];

function randomString(r: Rng): string {
  if (chance(r, 0.4)) return pick(r, NASTY_STRINGS);
  const length = chance(r, 0.05) ? int(r, 1000, 30_000) : int(r, 0, 40);
  let s = '';
  for (let i = 0; i < length; i++) {
    const roll = r();
    if (roll < 0.6) s += String.fromCharCode(int(r, 0x20, 0x7e));
    else if (roll < 0.7) s += String.fromCharCode(int(r, 0, 0x1f));
    else if (roll < 0.85) s += String.fromCharCode(int(r, 0x80, 0xffff));
    else s += String.fromCodePoint(int(r, 0x10000, 0x10ffff));
  }
  return s;
}

const NASTY_NUMBERS = [0, -0, 1, -1, 1.5, 1e308, -1e308, 5e-324, 2 ** 53, 2 ** 53 + 2, -(2 ** 63), 1e21, 0.1];

function randomValue(r: Rng, depth = 0): unknown {
  const roll = r();
  if (depth > 4 || roll < 0.5) {
    const leaf = r();
    if (leaf < 0.15) return null;
    if (leaf < 0.3) return chance(r, 0.5);
    if (leaf < 0.5) return pick(r, NASTY_NUMBERS);
    return randomString(r);
  }
  if (roll < 0.75) return Array.from({ length: int(r, 0, 5) }, () => randomValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = int(r, 0, 5); i > 0; i--) {
    const key = chance(r, 0.5)
      ? pick(r, ['title', 'description', 'items', 'inputs', 'id', 'shape', 'data'])
      : randomString(r);
    o[key] = randomValue(r, depth + 1);
  }
  return o;
}

function deepNest(r: Rng, inner: string): string {
  const depth = pick(r, [50, 500, 5000, 20_000, 100_000]);
  return chance(r, 0.5)
    ? '['.repeat(depth) + inner + ']'.repeat(depth)
    : '{"a":'.repeat(depth) + inner + '}'.repeat(depth);
}

/** Raw JSON text with numbers JSON.stringify cannot write. */
const HUGE_NUMBER_TEXT = [
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '0.' + '0'.repeat(400) + '1',
  '1E+999999',
  '-0.0e-0',
];

function randomText(r: Rng): string {
  return chance(r, 0.5) ? randomString(r) : pick(r, Object.values(PROJECTS)).title;
}

function randomPredictBody(r: Rng): unknown {
  const roll = r();
  if (roll < 0.15) return randomValue(r);
  if (roll < 0.45) {
    const o: Record<string, unknown> = {};
    if (chance(r, 0.85)) o.title = chance(r, 0.7) ? randomText(r) : randomValue(r);
    if (chance(r, 0.6)) o.description = chance(r, 0.7) ? randomText(r) : randomValue(r);
    if (chance(r, 0.15)) o[randomString(r)] = randomValue(r);
    if (chance(r, 0.05)) o.items = randomValue(r);
    return o;
  }
  if (roll < 0.75) {
    const n = chance(r, 0.1) ? int(r, MAX_ITEMS - 2, MAX_ITEMS + 3) : int(r, 0, 6);
    const items = Array.from({ length: n }, () =>
      chance(r, 0.85)
        ? { title: randomText(r), ...(chance(r, 0.7) ? { description: randomText(r) } : {}) }
        : randomValue(r),
    );
    return chance(r, 0.1) ? { items, title: randomText(r) } : { items };
  }
  if (roll < 0.85) return [{ title: randomText(r) }];
  return { title: randomText(r), description: randomText(r) };
}

const DATATYPES = ['BYTES', 'FP32', 'INT64', 'BOOL', 'bytes', '', 'STRING', 'UINT8'];

function randomShape(r: Rng, n: number): unknown {
  const roll = r();
  if (roll < 0.5) return [n];
  if (roll < 0.6) return [n, 1];
  if (roll < 0.7) return [n + int(r, -2, 2)];
  if (roll < 0.8) return Array.from({ length: int(r, 0, 4) }, () => pick(r, [0, 1, 2, -1, 1.5, 1e20, n]));
  return randomValue(r);
}

function randomTensorData(r: Rng, n: number): unknown {
  const roll = r();
  if (roll < 0.5) return Array.from({ length: n }, () => randomText(r));
  if (roll < 0.6) return Array.from({ length: n }, () => [randomText(r)]);
  if (roll < 0.7) return Array.from({ length: int(r, 0, n + 2) }, () => randomText(r));
  if (roll < 0.8) return Array.from({ length: n }, () => randomValue(r));
  return randomValue(r);
}

function randomTensor(r: Rng, n: number): unknown {
  if (chance(r, 0.08)) return randomValue(r);
  const t: Record<string, unknown> = {};
  if (chance(r, 0.95)) t.name = chance(r, 0.85) ? pick(r, ['title', 'description']) : randomValue(r);
  if (chance(r, 0.95))
    t.datatype = chance(r, 0.75) ? 'BYTES' : chance(r, 0.7) ? pick(r, DATATYPES) : randomValue(r);
  if (chance(r, 0.95)) t.shape = randomShape(r, n);
  if (chance(r, 0.95)) t.data = randomTensorData(r, n);
  if (chance(r, 0.1)) t.parameters = chance(r, 0.5) ? { binary_data_size: int(r, 0, 100) } : randomValue(r);
  if (chance(r, 0.05)) t[randomString(r)] = randomValue(r);
  return t;
}

function randomInferBody(r: Rng): unknown {
  if (chance(r, 0.1)) return randomValue(r);
  const n = chance(r, 0.05) ? int(r, MAX_ITEMS - 1, MAX_ITEMS + 2) : int(r, 0, 4);
  const body: Record<string, unknown> = {};
  if (chance(r, 0.3)) body.id = chance(r, 0.7) ? randomString(r) : randomValue(r);
  if (chance(r, 0.95)) {
    body.inputs = chance(r, 0.9)
      ? Array.from({ length: int(r, 0, 3) }, () => randomTensor(r, n))
      : randomValue(r);
  }
  if (chance(r, 0.2)) {
    body.outputs = chance(r, 0.6)
      ? [{ name: pick(r, ['label', 'probabilities', 'logits', '']) }]
      : randomValue(r);
  }
  if (chance(r, 0.1)) body.parameters = randomValue(r);
  if (chance(r, 0.05)) body[randomString(r)] = randomValue(r);
  return body;
}

const JSON_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'Application/JSON',
];
const OTHER_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/jsonx',
  '',
];

/** encodeURIComponent, except that lone surrogates (which it refuses) become U+FFFD. */
function safeEncode(s: string): string {
  return encodeURIComponent(
    s.replace(/[\ud800-\udfff]/g, (c, at: number) => {
      const code = c.charCodeAt(0);
      const next = s.charCodeAt(at + 1);
      const prev = s.charCodeAt(at - 1);
      const paired = code < 0xdc00 ? next >= 0xdc00 && next <= 0xdfff : prev >= 0xd800 && prev < 0xdc00;
      return paired ? c : '\ufffd';
    }),
  );
}

function randomUrl(r: Rng, route: 'predict' | 'v2'): string {
  if (route === 'predict')
    return pick(r, ['/predict', '/predict/', '/predict?x=1', '/predict?title=%E0%A4%A']);
  const roll = r();
  if (roll < 0.7) return '/v2/models/tagifai/infer';
  if (roll < 0.8)
    return `/v2/models/tagifai/versions/${pick(r, ['1', '2', '3', '0', '-1', 'x', '1e3', '01', '%00'])}/infer`;
  if (roll < 0.9) return `/v2/models/${safeEncode(randomString(r).slice(0, 50)) || 'x'}/infer`;
  return pick(r, [
    '/v2/models/tagifai/infer/',
    '/v2/models//infer',
    '/v2/models/%E0%A4%A/infer',
    '/v2/models/tagifai/infer?id=1',
  ]);
}

function randomBytes(r: Rng): Buffer {
  const b = Buffer.alloc(int(r, 0, 300));
  for (let i = 0; i < b.length; i++) b[i] = int(r, 0, 255);
  return b;
}

function generate(r: Rng, i: number): FuzzRequest {
  const route = chance(r, 0.5) ? 'predict' : 'v2';
  const url = randomUrl(r, route);
  const body = route === 'predict' ? randomPredictBody(r) : randomInferBody(r);
  const json = JSON.stringify(body) ?? 'null';
  const roll = r();
  let kind: string;
  let payload: string | Buffer;
  if (roll < 0.55) {
    kind = 'json';
    payload = json;
  } else if (roll < 0.65) {
    kind = 'truncated';
    payload = json.slice(0, int(r, 0, Math.max(0, json.length - 1)));
  } else if (roll < 0.72) {
    kind = 'deep';
    payload =
      route === 'predict'
        ? pick(r, [deepNest(r, '1'), `{"title": ${deepNest(r, '"x"')}}`, `{"items": ${deepNest(r, '{}')}}`])
        : pick(r, [
            deepNest(r, '1'),
            `{"inputs": ${deepNest(r, '{}')}}`,
            `{"inputs": [{"name": "title", "datatype": ${deepNest(r, '"BYTES"')}, "shape": [1], "data": ["a"]}]}`,
            `{"inputs": [{"name": "title", "datatype": "BYTES", "shape": ${deepNest(r, '1')}, "data": ["a"]}]}`,
            `{"inputs": [{"name": "title", "datatype": "BYTES", "shape": [1], "data": ${deepNest(r, '"a"')}}]}`,
            `{"id": ${deepNest(r, '"x"')}, "inputs": []}`,
            `{"inputs": [{"name": ${deepNest(r, '"title"')}, "datatype": "BYTES", "shape": [1], "data": ["a"]}]}`,
          ]);
  } else if (roll < 0.77) {
    kind = 'huge-number';
    const n = pick(r, HUGE_NUMBER_TEXT);
    payload =
      route === 'predict'
        ? pick(r, [`{"title": ${n}}`, `{"items": [${n}]}`, n])
        : pick(r, [
            `{"inputs": [{"name": "title", "datatype": "BYTES", "shape": [${n}], "data": ["a"]}]}`,
            `{"inputs": [{"name": "title", "datatype": "BYTES", "shape": [1], "data": [${n}]}]}`,
          ]);
  } else if (roll < 0.82) {
    kind = 'random-bytes';
    payload = randomBytes(r);
  } else if (roll < 0.86) {
    kind = 'invalid-utf8';
    const b = Buffer.from(json);
    const at = int(r, 0, b.length);
    payload = Buffer.concat([
      b.subarray(0, at),
      Buffer.from([pick(r, [0x80, 0xc3, 0xff, 0xed, 0xf8])]),
      b.subarray(at),
    ]);
  } else if (roll < 0.9) {
    kind = 'null-bytes';
    const at = int(r, 0, json.length);
    payload = json.slice(0, at) + '\u0000' + json.slice(at);
  } else if (roll < 0.93) {
    kind = 'array-body';
    payload = `[${json}]`;
  } else if (roll < 0.96) {
    kind = 'proto';
    payload = pick(r, [
      '{"title": "x", "__proto__": {"polluted": 1}}',
      '{"constructor": {"prototype": {"polluted": 1}}, "title": "x"}',
      '{"inputs": [{"__proto__": {"name": "title"}}]}',
    ]);
  } else {
    kind = 'duplicate-keys';
    payload = route === 'predict' ? '{"title": "a", "title": 5}' : '{"inputs": [], "inputs": 5}';
  }
  const contentType = chance(r, 0.93) ? pick(r, JSON_TYPES) : pick(r, OTHER_TYPES);
  const headers: Record<string, string> = contentType === '' ? {} : { 'content-type': contentType };
  if (chance(r, 0.1))
    headers['x-request-id'] = randomString(r)
      .replace(/[^\x20-\x7e]/g, '?')
      .slice(0, 200);
  if (chance(r, 0.05)) headers['x-ferry-unit'] = randomString(r).replace(/[^\x20-\x7e]/g, '?');
  return { kind: `${i}:${route}:${kind}`, url, headers, payload };
}

// --- checks ----------------------------------------------------------------------------------

function isV2(url: string): boolean {
  return url.startsWith('/v2');
}

/** An empty string when the response is acceptable, otherwise what is wrong with it. */
function problem(req: FuzzRequest, res: LightMyRequestResponse): string {
  if (res.statusCode >= 500) return `status ${res.statusCode}`;
  if (STACK_TRACE.test(res.body)) return 'stack trace in the body';
  let body: unknown;
  try {
    body = res.json();
  } catch {
    return 'body is not JSON';
  }
  const o = body as Record<string, unknown>;
  if (res.statusCode === 200) {
    if (isV2(req.url)) {
      const outputs = o.outputs as { name: string; shape: number[]; data: unknown[] }[] | undefined;
      if (o.model_name !== 'tagifai' || !Array.isArray(outputs) || outputs.length === 0)
        return 'bad v2 response';
      for (const out of outputs) {
        const size = out.shape.reduce((a, b) => a * b, 1);
        if (out.data.length !== size)
          return `output ${out.name}: shape ${out.shape} but ${out.data.length} values`;
      }
      return '';
    }
    const results = o.results as { prediction: string; probabilities: Record<string, number> }[] | undefined;
    if (!Array.isArray(results) || results.length === 0) return 'bad /predict response';
    for (const p of results) {
      if (!(CLASSES as readonly string[]).includes(p.prediction)) return `unknown class ${p.prediction}`;
      const sum = Object.values(p.probabilities).reduce((a, b) => a + b, 0);
      if (!(Math.abs(sum - 1) < 1e-4)) return `probabilities sum to ${sum}`;
    }
    return '';
  }
  if (res.statusCode < 400) return `unexpected status ${res.statusCode}`;
  if (isV2(req.url)) {
    if (Object.keys(o).length !== 1 || typeof o.error !== 'string' || o.error === '')
      return 'not {"error": string}';
    return '';
  }
  const e = o.error as { code?: unknown; message?: unknown; details?: unknown } | undefined;
  if (
    Object.keys(o).length !== 1 ||
    typeof e !== 'object' ||
    e === null ||
    typeof e.code !== 'string' ||
    !/^FERRY_[A-Z0-9_]+$/.test(e.code) ||
    typeof e.message !== 'string' ||
    typeof e.details !== 'object' ||
    e.details === null
  ) {
    return 'not {"error": {code, message, details}}';
  }
  return '';
}

function show(req: FuzzRequest, res: LightMyRequestResponse, why: string): string {
  const payload = typeof req.payload === 'string' ? req.payload : `<bytes ${req.payload.toString('base64')}>`;
  return `[${req.kind}] ${why}: POST ${req.url} ${JSON.stringify(req.headers)} ${payload.slice(0, 240)}${
    payload.length > 240 ? `… (${payload.length} chars)` : ''
  } → ${res.statusCode} ${res.body.slice(0, 200)}`;
}

// --- the test --------------------------------------------------------------------------------

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ listen: false, limits: { maxItems: MAX_ITEMS } });
});
afterAll(() => server?.close());

describe(`fuzzing /predict and v2 infer (seed ${SEED})`, () => {
  it(`${REQUESTS} nasty requests: no 5xx, every error in its route's shape, then still correct`, async () => {
    const r = seededRandom(SEED);
    const problems: string[] = [];
    const categories = new Map<string, number>();
    const statuses = new Map<number, number>();
    for (let i = 0; i < REQUESTS; i++) {
      const req = generate(r, i);
      const res = await server.app.inject({
        method: 'POST',
        url: req.url,
        headers: req.headers,
        payload: req.payload,
      });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      const why = problem(req, res);
      if (why) {
        // One example per kind of problem and request kind, so a failure reads as a list of bugs.
        const body = res.body.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>').slice(0, 60);
        const category = `${why} ${body}`;
        const seen = categories.get(category);
        categories.set(category, (seen ?? 0) + 1);
        if (seen === undefined) problems.push(show(req, res, why));
      }
    }
    // The mix exercised both successes and refusals.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(100);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(500);
    const total = [...categories.values()].reduce((a, b) => a + b, 0);
    expect(problems, `${total} bad responses; statuses ${JSON.stringify([...statuses])}`).toEqual([]);

    const course = await server.app.inject({ method: 'POST', url: '/predict', payload: PROJECTS.cv });
    expect(course.statusCode).toBe(200);
    expect(course.json()).toMatchObject({ results: [{ prediction: 'computer-vision' }] });
    const v2 = await server.app.inject({
      method: 'POST',
      url: '/v2/models/tagifai/infer',
      payload: v2Request([PROJECTS.nlp]),
    });
    expect(v2.statusCode).toBe(200);
    const outputs = (v2.json() as { outputs: { name: string; data: unknown[] }[] }).outputs;
    expect(outputs.find((o) => o.name === 'label')?.data).toEqual(['natural-language-processing']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 120_000);
});

describe('fuzz findings, pinned', () => {
  const deep = (depth: number, inner: string) => '['.repeat(depth) + inner + ']'.repeat(depth);
  const inject = (url: string, payload: string) =>
    server.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload });

  it('v2: a deeply nested "datatype", "shape" or "name" is a 400 {error}, not a 500', async () => {
    for (const payload of [
      `{"inputs": [{"name": "title", "datatype": ${deep(10_000, '"BYTES"')}, "shape": [1], "data": ["a"]}]}`,
      `{"inputs": [{"name": "title", "datatype": "BYTES", "shape": ${deep(10_000, '1')}, "data": ["a"]}]}`,
      `{"inputs": [{"name": "title", "datatype": "BYTES", "shape": [1], "data": ["a"]}], "outputs": [{"name": ${deep(10_000, '"x"')}}]}`,
    ]) {
      const res = await inject('/v2/models/tagifai/infer', payload);
      expect(res.statusCode, res.body).toBe(400);
      expect(Object.keys(res.json() as object)).toEqual(['error']);
    }
  });

  it("a malformed percent-encoding in a path parameter answers 400 in the route's error shape", async () => {
    const v2 = await inject('/v2/models/%E0%A4%A/infer', JSON.stringify(v2Request([PROJECTS.nlp])));
    expect(v2.statusCode).toBe(400);
    expect(v2.json()).toEqual({ error: expect.any(String) });
    const meta = await server.app.inject({ method: 'GET', url: '/v2/models/tagifai/versions/%E0%A4%A' });
    expect(meta.statusCode).toBeGreaterThanOrEqual(400);
    expect(meta.statusCode).toBeLessThan(500);
    expect(meta.json()).toEqual({ error: expect.any(String) });
    const admin = await server.app.inject({ method: 'GET', url: '/v1/models/%E0%A4%A' });
    expect([400, 401]).toContain(admin.statusCode);
    expect(admin.json()).toEqual({
      error: {
        code: expect.stringMatching(/^FERRY_/),
        message: expect.any(String),
        details: expect.any(Object),
      },
    });
  });

  it('/predict: deeply nested values are a 400, not a 500', async () => {
    for (const payload of [
      deep(100_000, '1'),
      `{"title": ${deep(100_000, '"x"')}}`,
      `{"items": ${deep(50_000, '{}')}}`,
    ]) {
      const res = await inject('/predict', payload);
      expect(res.statusCode, res.body.slice(0, 200)).toBe(400);
    }
  });
});
