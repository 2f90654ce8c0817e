/**
 * The `remote-v2` kind against a second Ferry over real HTTP (`ferry serve` in its own process,
 * serving a text classifier trained into a temporary FERRY_HOME), and against tiny node:http
 * servers that misbehave on purpose (slow, garbage, 5xx, a remote that says FP16). Every request
 * the kind sends and every answer it reads is checked against the Open Inference Protocol's
 * OpenAPI file (the vendored copy, which test/unit/serving/v2/openapi-schemas.test.ts keeps equal
 * to /work/shared/specs/open-inference-protocol/open_inference_rest.yaml).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import { modelKind } from '../../src/model/kinds/index.js';
import type { KindContext } from '../../src/model/kinds/model-kind.js';
import { type RemoteV2Options, remoteV2Artifact } from '../../src/model/kinds/remote-v2/artifact.js';
import type { Model } from '../../src/model/model.js';
import type { NamedTensors, Signature } from '../../src/model/tensor.js';
import { expectFerryError, expectFerryErrorSync } from '../helpers/expect-ferry-error.js';
import {
  CLASSES,
  createTestRegistry,
  PROJECTS,
  type ServeProcess,
  spawnServe,
  type TestRegistry,
  v2Request,
} from '../helpers/serving.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';
import { specValidator } from '../unit/serving/v2/oip-spec.js';

const kind = modelKind('remote-v2');
const CALL_TIMEOUT_MS = 5000;

let cacheDir: { path: string; remove: () => Promise<void> };
const ctx = (): KindContext => ({ cacheDir: cacheDir.path, callTimeoutMs: CALL_TIMEOUT_MS });

// ---------------------------------------------------------------------------------------------
// Spec checks of what crosses the wire.

const validators = {
  request: specValidator('inference_request'),
  response: specValidator('inference_response'),
  error: specValidator('inference_error_response'),
  metadata: specValidator('metadata_model_response'),
};

function expectValid(which: keyof typeof validators, body: unknown): void {
  const validate = validators[which];
  expect(validate(body), `${which}: ${JSON.stringify(validate.errors)}\n${JSON.stringify(body)}`).toBe(true);
}

interface Exchange {
  method: string;
  path: string;
  request: unknown;
  status: number;
  response: unknown;
}

/** Checks one exchange against the spec: the request Ferry sent, and the answer it read. */
function expectSpecExchange(x: Exchange): void {
  if (x.method === 'POST') {
    expect(x.path).toMatch(/\/infer$/);
    expectValid('request', x.request);
    expectValid(x.status === 200 ? 'response' : 'error', x.response);
  } else {
    expect(x.request).toBeUndefined();
    if (x.status === 200) expectValid('metadata', x.response);
  }
}

// ---------------------------------------------------------------------------------------------
// A tiny server whose behaviour each test sets: a recording proxy to the real Ferry, or a fake.

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void | Promise<void>;

interface Front {
  url: string;
  /** Every request received, in order. */
  requests: { method: string; path: string; body: string }[];
  /** Exchanges proxied to the real Ferry. */
  exchanges: Exchange[];
  handle: Handler;
  server: Server;
  /** Open connections. */
  sockets: Set<Socket>;
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

async function startFront(): Promise<Front> {
  const front = { requests: [], exchanges: [], sockets: new Set() } as unknown as Front;
  front.handle = (_req, _body, res) => json(res, 500, { error: 'no handler' });
  front.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      front.requests.push({ method: req.method ?? '', path: req.url ?? '', body });
      void Promise.resolve(front.handle(req, body, res)).catch((e: unknown) => {
        if (!res.headersSent) json(res, 500, { error: String(e) });
      });
    });
  });
  front.server.on('connection', (socket: Socket) => {
    front.sockets.add(socket);
    socket.once('close', () => front.sockets.delete(socket));
  });
  await new Promise<void>((r) => front.server.listen(0, '127.0.0.1', r));
  front.url = `http://127.0.0.1:${(front.server.address() as AddressInfo).port}`;
  return front;
}

/** Forwards to `target` and records the exchange, parsed. */
function proxyTo(front: Front, target: string): Handler {
  return async (req, body, res) => {
    const answer = await fetch(`${target}${req.url}`, {
      method: req.method ?? 'GET',
      headers: { 'content-type': 'application/json' },
      ...(req.method === 'POST' ? { body } : {}),
    });
    const text = await answer.text();
    front.exchanges.push({
      method: req.method ?? '',
      path: req.url ?? '',
      request: body === '' ? undefined : JSON.parse(body),
      status: answer.status,
      response: JSON.parse(text),
    });
    json(res, answer.status, text);
  };
}

// ---------------------------------------------------------------------------------------------

const ITEMS = [PROJECTS.nlp, PROJECTS.cv, PROJECTS.mlops];
function textInputs(items: readonly { title: string; description: string }[]): NamedTensors {
  return {
    title: { datatype: 'BYTES', shape: [items.length], data: items.map((i) => i.title) },
    description: { datatype: 'BYTES', shape: [items.length], data: items.map((i) => i.description) },
  };
}

const TEXT_SIGNATURE_FROM_METADATA = {
  inputs: [
    { name: 'title', datatype: 'BYTES', shape: [-1] },
    { name: 'description', datatype: 'BYTES', shape: [-1] },
  ],
  outputs: [
    { name: 'label', datatype: 'BYTES', shape: [-1] },
    { name: 'probabilities', datatype: 'FP32', shape: [-1, -1] },
  ],
} as const;

/** A fake remote's metadata for the text signature. */
function fakeMetadata(res: ServerResponse): void {
  json(res, 200, { name: 'fake', platform: 'fake-platform', ...TEXT_SIGNATURE_FROM_METADATA });
}

/** A well-formed answer for `rows` rows, for fakes that answer correctly. */
function fakeAnswer(rows: number): unknown {
  return {
    model_name: 'fake',
    outputs: [
      { name: 'label', datatype: 'BYTES', shape: [rows], data: Array(rows).fill('mlops') },
      { name: 'probabilities', datatype: 'FP32', shape: [rows, 2], data: Array(rows * 2).fill(0.5) },
    ],
  };
}

async function openRemote(opts: RemoteV2Options): Promise<{ model: Model; signature: Signature }> {
  const artifact = remoteV2Artifact(opts);
  const { signature } = await kind.inspect(artifact, ctx());
  const model = await kind.open(artifact, { ...ctx(), signature, sha256: '' });
  return { model, signature };
}

/** Opens with the text signature stored, so no metadata request is made (open needs no network). */
function openStored(opts: RemoteV2Options): Promise<Model> {
  return kind.open(remoteV2Artifact(opts), {
    ...ctx(),
    signature: TEXT_SIGNATURE_FROM_METADATA as unknown as Signature,
    sha256: '',
  });
}

/** No message a client may see names the remote's host or port. */
function expectNoHost(message: string, url: string): void {
  const { hostname, port } = new URL(url);
  expect(message).not.toContain(hostname);
  if (port !== '') expect(message).not.toContain(port);
}

let reg: TestRegistry;
let ferry: ServeProcess;
let ferryUrl: string;
let front: Front;

async function startFerry(port = 0): Promise<ServeProcess> {
  const proc = spawnServe(reg.home, ['--port', String(port), '--cache', 'off', '--prediction-log', 'off']);
  await proc.address;
  return proc;
}

beforeAll(async () => {
  cacheDir = await makeTmpDir('ferry-remote-');
  reg = await createTestRegistry({ versions: [{ seed: 42 }], production: 1 });
  ferry = await startFerry();
  ferryUrl = await ferry.address;
  front = await startFront();
}, 120_000);

afterAll(async () => {
  ferry?.kill();
  await new Promise((r) => front?.server.close(r));
  await reg?.close();
  await cacheDir?.remove();
});

beforeEach(() => {
  front.requests.length = 0;
  front.exchanges.length = 0;
});

describe('remote-v2 against another Ferry', () => {
  it('inspect reads the signature from the model metadata', async () => {
    front.handle = proxyTo(front, ferryUrl);
    const inspected = await kind.inspect(remoteV2Artifact({ url: front.url, model: 'tagifai' }), ctx());
    expect(inspected.signature).toEqual(TEXT_SIGNATURE_FROM_METADATA);
    expect(inspected.details).toMatchObject({
      url: front.url,
      remoteModel: 'tagifai',
      platform: 'text-classifier',
    });
    expect(front.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v2/models/tagifai']);
    for (const x of front.exchanges) expectSpecExchange(x);
  });

  it('a version goes into the path; an override that fits is used, one that does not is refused', async () => {
    front.handle = proxyTo(front, ferryUrl);
    const artifact = remoteV2Artifact({ url: `${front.url}/`, model: 'tagifai', version: '1' });
    const override: Signature = {
      inputs: TEXT_SIGNATURE_FROM_METADATA.inputs.map((t) => ({ ...t, shape: [...t.shape] })),
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, CLASSES.length] }],
    };
    const inspected = await kind.inspect(artifact, ctx(), override);
    expect(inspected.signature).toEqual(override);
    expect(inspected.details).toMatchObject({ remoteVersion: '1' });
    expect(front.requests[0]?.path).toBe('/v2/models/tagifai/versions/1');

    const wrongType: Signature = {
      ...override,
      inputs: [{ name: 'title', datatype: 'INT32', shape: [-1] }, override.inputs[1]!],
    };
    await expectFerryError(kind.inspect(artifact, ctx(), wrongType), ErrorCode.MODEL_INVALID_SIGNATURE);
    const wrongRank: Signature = {
      ...override,
      outputs: [{ name: 'label', datatype: 'BYTES', shape: [-1, 1] }],
    };
    await expectFerryError(kind.inspect(artifact, ctx(), wrongRank), ErrorCode.MODEL_INVALID_SIGNATURE);
    const unknownOutput: Signature = {
      ...override,
      outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1] }],
    };
    await expectFerryError(kind.inspect(artifact, ctx(), unknownOutput), ErrorCode.MODEL_INVALID_SIGNATURE);
    const missingInput: Signature = { ...override, inputs: [override.inputs[0]!] };
    await expectFerryError(kind.inspect(artifact, ctx(), missingInput), ErrorCode.MODEL_INVALID_SIGNATURE);
    for (const x of front.exchanges) expectSpecExchange(x);
  });

  it('a remote model that does not exist fails registration with MODEL_LOAD_FAILED', async () => {
    front.handle = proxyTo(front, ferryUrl);
    const e = await expectFerryError(
      kind.inspect(remoteV2Artifact({ url: front.url, model: 'nope' }), ctx()),
      ErrorCode.MODEL_LOAD_FAILED,
    );
    expectNoHost(e.message, front.url);
    // A 404 is not transient: asked once.
    expect(front.requests).toHaveLength(1);
  });

  it('infer answers what the remote answers directly', async () => {
    front.handle = proxyTo(front, ferryUrl);
    const { model } = await openRemote({ url: front.url, model: 'tagifai' });
    expect(model.kind).toBe('remote-v2');
    const outputs = await model.infer(textInputs(ITEMS));

    const direct = await fetch(`${ferryUrl}/v2/models/tagifai/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(v2Request(ITEMS)),
    });
    expect(direct.status).toBe(200);
    const body = (await direct.json()) as {
      outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[];
    };
    const byName = Object.fromEntries(body.outputs.map((o) => [o.name, o]));
    expect(outputs.label).toEqual({ datatype: 'BYTES', shape: [3], data: byName.label!.data });
    expect(outputs.probabilities).toEqual({
      datatype: 'FP32',
      shape: [3, CLASSES.length],
      data: byName.probabilities!.data,
    });
    expect(outputs.label!.data).toEqual(['natural-language-processing', 'computer-vision', 'mlops']);

    const posts = front.exchanges.filter((x) => x.method === 'POST');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.request).toEqual({
      inputs: [
        { name: 'title', datatype: 'BYTES', shape: [3], data: ITEMS.map((i) => i.title) },
        { name: 'description', datatype: 'BYTES', shape: [3], data: ITEMS.map((i) => i.description) },
      ],
      outputs: [{ name: 'label' }, { name: 'probabilities' }],
    });
    for (const x of front.exchanges) expectSpecExchange(x);
    await model.close?.();
  });

  it('a 400 from the remote is MODEL_INVALID_TENSOR with its message, without hosts', async () => {
    front.handle = proxyTo(front, ferryUrl);
    const model = await openStored({ url: front.url, model: 'tagifai' });
    const e = await expectFerryError(
      model.infer(textInputs([{ title: '', description: '' }])),
      ErrorCode.MODEL_INVALID_TENSOR,
      400,
    );
    expect(front.exchanges[0]?.status).toBe(400);
    const remoteError = (front.exchanges[0]!.response as { error: string }).error;
    expect(e.message).toContain(remoteError.slice(0, 40));
    expectNoHost(e.message, front.url);
    for (const x of front.exchanges) expectSpecExchange(x);
  });

  it('a remote message naming hosts is passed on with the hosts blanked', async () => {
    front.handle = (_req, _body, res) =>
      json(res, 422, {
        error: `bad input\n(see http://${new URL(front.url).host}/docs, upstream db-7.internal:5432)`,
      });
    const model = await openStored({ url: front.url, model: 'fake' });
    const e = await expectFerryError(model.infer(textInputs(ITEMS)), ErrorCode.MODEL_INVALID_TENSOR);
    expect(e.message).toContain('bad input');
    expect(e.message).not.toContain('db-7.internal');
    expect(e.message).not.toContain('\n');
    expectNoHost(e.message, front.url);
  });

  it('the remote stopped: MODEL_REMOTE_UNAVAILABLE; the breaker opens, fails fast, then recovers once it is back', async () => {
    const port = Number(new URL(ferryUrl).port);
    // The reset delay outlasts a restart of `ferry serve` (about 2-3 s here), so the breaker is
    // seen still open once the server is back.
    const resetMs = 6000;
    const model = await openStored({
      url: ferryUrl,
      model: 'tagifai',
      breakerFailures: 3,
      breakerResetMs: resetMs,
    });
    expect((await model.infer(textInputs(ITEMS))).label!.data).toHaveLength(3);

    ferry.kill();
    await ferry.exited;
    for (let i = 0; i < 3; i++) {
      const e = await expectFerryError(
        model.infer(textInputs(ITEMS)),
        ErrorCode.MODEL_REMOTE_UNAVAILABLE,
        503,
      );
      expect(e.message).toMatch(/unreachable/);
      expectNoHost(e.message, ferryUrl);
    }
    const openedAt = performance.now();
    const open = await expectFerryError(model.infer(textInputs(ITEMS)), ErrorCode.MODEL_REMOTE_UNAVAILABLE);
    expect(performance.now() - openedAt).toBeLessThan(50);
    expect(open.message).toMatch(/circuit breaker is open/);
    expect(open.details.retryAfterSeconds).toBe(resetMs / 1000);

    // Back on the same port; the breaker still fails fast until its reset delay has passed.
    ferry = await startFerry(port);
    const restarted = performance.now() - openedAt;
    expect(restarted, 'the restart took longer than the reset delay').toBeLessThan(resetMs - 500);
    const stillOpen = await expectFerryError(
      model.infer(textInputs(ITEMS)),
      ErrorCode.MODEL_REMOTE_UNAVAILABLE,
    );
    expect(stillOpen.message).toMatch(/circuit breaker is open/);
    await sleep(resetMs + 100 - (performance.now() - openedAt));
    expect((await model.infer(textInputs(ITEMS))).label!.data).toEqual([
      'natural-language-processing',
      'computer-vision',
      'mlops',
    ]);
    // Closed again: later calls go through.
    expect((await model.infer(textInputs([PROJECTS.cv]))).label!.data).toEqual(['computer-vision']);
  }, 60_000);
});

describe('remote-v2 against misbehaving servers', () => {
  it('the metadata GET is retried on a transient 503; the infer POST never is', async () => {
    let gets = 0;
    front.handle = (req, _body, res) => {
      if (req.method === 'GET') {
        gets++;
        if (gets === 1) return json(res, 503, { error: 'warming up' });
        return fakeMetadata(res);
      }
      return json(res, 503, { error: 'overloaded' }, { 'retry-after': '7' });
    };
    const { model } = await openRemote({ url: front.url, model: 'fake' });
    expect(front.requests.map((r) => r.method)).toEqual(['GET', 'GET']);
    const e = await expectFerryError(model.infer(textInputs(ITEMS)), ErrorCode.MODEL_REMOTE_UNAVAILABLE, 503);
    expect(e.details.retryAfterSeconds).toBe(7);
    expect(front.requests.map((r) => r.method)).toEqual(['GET', 'GET', 'POST']);
    expectValid('request', JSON.parse(front.requests[2]!.body));
  });

  it('the metadata GET gives up after 3 attempts', async () => {
    front.handle = (_req, _body, res) => json(res, 500, { error: 'down' });
    await expectFerryError(
      kind.inspect(remoteV2Artifact({ url: front.url, model: 'fake' }), ctx()),
      ErrorCode.MODEL_REMOTE_UNAVAILABLE,
    );
    expect(front.requests).toHaveLength(3);
  });

  it('the breaker opens after N failed calls and later calls do not reach the server', async () => {
    front.handle = (_req, _body, res) => json(res, 500, { error: 'boom' });
    const model = await openStored({
      url: front.url,
      model: 'fake',
      breakerFailures: 2,
      breakerResetMs: 10_000,
    });
    await expectFerryError(model.infer(textInputs(ITEMS)), ErrorCode.MODEL_REMOTE_UNAVAILABLE);
    await expectFerryError(model.infer(textInputs(ITEMS)), ErrorCode.MODEL_REMOTE_UNAVAILABLE);
    expect(front.requests).toHaveLength(2);
    const e = await expectFerryError(model.infer(textInputs(ITEMS)), ErrorCode.MODEL_REMOTE_UNAVAILABLE);
    expect(e.details.retryAfterSeconds).toBe(10);
    expect(front.requests).toHaveLength(2);
  });

  it('a 400 does not count against the breaker', async () => {
    front.handle = (_req, _body, res) => json(res, 400, { error: 'bad shape' });
    const model = await openStored({ url: front.url, model: 'fake', breakerFailures: 1 });
    for (let i = 0; i < 3; i++) {
      await expectFerryError(model.infer(textInputs(ITEMS)), ErrorCode.MODEL_INVALID_TENSOR);
    }
    expect(front.requests).toHaveLength(3);
  });

  it('a slow server: MODEL_TIMEOUT within the timeout plus slack, and the socket is closed', async () => {
    let closedAt: number | undefined;
    front.handle = async (_req, _body, res) => {
      res.on('close', () => {
        closedAt = performance.now();
      });
      await sleep(3000);
      if (!res.destroyed) json(res, 200, fakeAnswer(3));
    };
    const model = await openStored({ url: front.url, model: 'fake', timeoutMs: 300 });
    const started = performance.now();
    const e = await expectFerryError(model.infer(textInputs(ITEMS)), ErrorCode.MODEL_TIMEOUT, 504);
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(800);
    expectNoHost(e.message, front.url);
    await sleep(200);
    // The server saw the connection go long before it would have answered.
    expect(closedAt).toBeDefined();
    expect(closedAt! - started).toBeLessThan(1000);
    expect(front.requests).toHaveLength(1);
  });

  it('without timeoutMs the context call timeout applies', async () => {
    front.handle = async (_req, _body, res) => {
      await sleep(2000);
      if (!res.destroyed) json(res, 200, fakeAnswer(3));
    };
    const model = await kind.open(remoteV2Artifact({ url: front.url, model: 'fake' }), {
      cacheDir: cacheDir.path,
      callTimeoutMs: 200,
      signature: TEXT_SIGNATURE_FROM_METADATA as unknown as Signature,
      sha256: '',
    });
    const started = performance.now();
    await expectFerryError(model.infer(textInputs(ITEMS)), ErrorCode.MODEL_TIMEOUT);
    expect(performance.now() - started).toBeLessThan(700);
  });

  const rows3 = fakeAnswer(3) as { outputs: Record<string, unknown>[] };
  const label = rows3.outputs[0]!;
  const probabilities = rows3.outputs[1]!;
  it.each([
    ['not JSON', '<html>oops</html>'],
    ['no outputs', { model_name: 'fake' }],
    [
      'a datatype other than the signature says',
      { outputs: [{ ...label, datatype: 'FP32' }, probabilities] },
    ],
    ['fewer elements than the shape', { outputs: [{ ...label, data: ['a', 'b'] }, probabilities] }],
    ['numbers where BYTES are due', { outputs: [{ ...label, data: [1, 2, 3] }, probabilities] }],
    ['a string in FP32 data', { outputs: [label, { ...probabilities, data: ['x', 0, 0, 0, 0, 0] }] }],
    ['an output not asked for', { outputs: [label, probabilities, { ...label, name: 'extra' }] }],
    ['an output missing', { outputs: [label] }],
    ['an output twice', { outputs: [label, label, probabilities] }],
    [
      'rows other than the input rows',
      { outputs: [{ ...label, shape: [2], data: ['a', 'b'] }, probabilities] },
    ],
    ['a rank the signature does not have', { outputs: [label, { ...probabilities, shape: [6] }] }],
  ])('a garbage answer (%s) is MODEL_PREDICT_FAILED', async (_why, answer) => {
    front.handle = (_req, _body, res) => json(res, 200, answer);
    const model = await openStored({ url: front.url, model: 'fake' });
    const e = await expectFerryError(model.infer(textInputs(ITEMS)), ErrorCode.MODEL_PREDICT_FAILED, 502);
    expect(e.message).toMatch(/garbage/);
    expectNoHost(e.message, front.url);
  });

  it('nested data is accepted and flattened', async () => {
    front.handle = (_req, _body, res) =>
      json(res, 200, {
        model_name: 'fake',
        outputs: [
          label,
          {
            ...probabilities,
            data: [
              [0.5, 0.5],
              [0.25, 0.75],
              [1, 0],
            ],
          },
        ],
      });
    const model = await openStored({ url: front.url, model: 'fake' });
    const out = await model.infer(textInputs(ITEMS));
    expect(out.probabilities!.data).toEqual([0.5, 0.5, 0.25, 0.75, 1, 0]);
  });

  it('an answer over the size cap is refused while it is read', async () => {
    // A chunked body (no content-length) larger than the 64 MiB cap.
    front.handle = async (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 70 && !res.destroyed; i++) {
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      }
      res.end();
    };
    const model = await openStored({ url: front.url, model: 'fake' });
    const e = await expectFerryError(model.infer(textInputs(ITEMS)), ErrorCode.MODEL_PREDICT_FAILED);
    expect(e.message).toMatch(/more than \d+ bytes/);
  }, 30_000);

  it('an answer that declares more than the cap is refused from its headers', async () => {
    front.handle = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(65 * 1024 * 1024) });
      res.write('{');
    };
    const model = await openStored({ url: front.url, model: 'fake' });
    const started = performance.now();
    await expectFerryError(model.infer(textInputs(ITEMS)), ErrorCode.MODEL_PREDICT_FAILED);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('calls share keep-alive connections, which close() lets go of', async () => {
    const mine: Socket[] = [];
    const count = (socket: Socket) => mine.push(socket);
    front.server.on('connection', count);
    try {
      front.handle = (_req, _body, res) => json(res, 200, fakeAnswer(3));
      const model = await openStored({ url: front.url, model: 'fake' });
      for (let i = 0; i < 5; i++) await model.infer(textInputs(ITEMS));
      expect(mine).toHaveLength(1);
      expect(mine[0]!.destroyed).toBe(false);
      const closed = new Promise<void>((r) => mine[0]!.once('close', () => r()));
      await model.close?.();
      await closed;
      expect(front.sockets.has(mine[0]!)).toBe(false);
    } finally {
      front.server.off('connection', count);
    }
  });

  it('a remote that uses a datatype Ferry does not serve (FP16) fails registration', async () => {
    front.handle = (_req, _body, res) =>
      json(res, 200, {
        name: 'half',
        platform: 'triton',
        inputs: [{ name: 'x', datatype: 'FP16', shape: [-1, 3] }],
        outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
      });
    const e = await expectFerryError(
      kind.inspect(remoteV2Artifact({ url: front.url, model: 'half' }), ctx()),
      ErrorCode.MODEL_INVALID_SIGNATURE,
    );
    expect(e.message).toContain('FP16');
  });

  it('metadata without inputs is MODEL_INVALID_SIGNATURE', async () => {
    front.handle = (_req, _body, res) => json(res, 200, { name: 'x', platform: 'p' });
    await expectFerryError(
      kind.inspect(remoteV2Artifact({ url: front.url, model: 'x' }), ctx()),
      ErrorCode.MODEL_INVALID_SIGNATURE,
    );
  });

  it('verify parses only: no request is made', async () => {
    await kind.verify?.(remoteV2Artifact({ url: front.url, model: 'fake' }), ctx());
    expect(front.requests).toHaveLength(0);
  });
});

describe('remote-v2 artifact', () => {
  it.each([
    [{ url: 'ftp://host/x', model: 'm' }],
    [{ url: 'http://user:secret@host', model: 'm' }],
    [{ url: 'http://host?token=x', model: 'm' }],
    [{ url: 'not a url', model: 'm' }],
    [{ url: 'http://host', model: '' }],
    [{ url: 'http://host', model: 'a/b' }],
    [{ url: 'http://host', model: '..' }],
    [{ url: 'http://host', model: 'x'.repeat(257) }],
    [{ url: 'http://host', model: 'm', version: 'v\n1' }],
    [{ url: 'http://host', model: 'm', timeoutMs: 0 }],
    [{ url: 'http://host', model: 'm', breakerFailures: 1.5 }],
    [{ url: `http://host/${'p'.repeat(2100)}`, model: 'm' }],
  ] as RemoteV2Options[][])('refuses %j', (opts) => {
    expectFerryErrorSync(() => remoteV2Artifact(opts), ErrorCode.MODEL_INVALID_ARTIFACT);
  });

  it('credentials never reach a message', () => {
    const e = expectFerryErrorSync(
      () => remoteV2Artifact({ url: 'https://user:hunter2@host', model: 'm' }),
      ErrorCode.MODEL_INVALID_ARTIFACT,
    );
    expect(e.message).not.toContain('hunter2');
  });

  it.each([
    ['not JSON', 'nope'],
    ['another format', JSON.stringify({ format: 'ferry-model', formatVersion: 1 })],
    [
      'a later formatVersion',
      JSON.stringify({ format: 'ferry-remote-v2', formatVersion: 2, url: 'http://h', model: 'm' }),
    ],
    [
      'an unknown field',
      JSON.stringify({
        format: 'ferry-remote-v2',
        formatVersion: 1,
        url: 'http://h',
        model: 'm',
        script: 'x',
      }),
    ],
    [
      'a bad url',
      JSON.stringify({ format: 'ferry-remote-v2', formatVersion: 1, url: 'file:///etc', model: 'm' }),
    ],
  ])('a document with %s does not open (MODEL_INVALID_ARTIFACT)', async (_why, text) => {
    const bytes = new TextEncoder().encode(text);
    await expectFerryError(kind.verify!(bytes, ctx()), ErrorCode.MODEL_INVALID_ARTIFACT);
    await expectFerryError(kind.open(bytes, { ...ctx(), sha256: '' }), ErrorCode.MODEL_INVALID_ARTIFACT);
  });

  it('is a small JSON document of data only', () => {
    const doc = JSON.parse(
      new TextDecoder().decode(
        remoteV2Artifact({ url: 'https://h.example/base/', model: 'm', version: '3', timeoutMs: 100 }),
      ),
    );
    expect(doc).toEqual({
      format: 'ferry-remote-v2',
      formatVersion: 1,
      url: 'https://h.example/base',
      model: 'm',
      version: '3',
      timeoutMs: 100,
    });
  });
});
