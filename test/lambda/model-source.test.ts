import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/hash.js';
import { createLambdaHandler, lambdaOptionsFromEnv } from '../../src/lambda/handler.js';
import { loadServingConfig } from '../../src/serving/serving-config.js';
import { httpApiV2Event } from './fixtures/aws-events.js';
import { bodyOf, type Handler, scratchBundle } from './helpers.js';

/*
 * Where the model comes from: bundled beside the handler (checked against its manifest's sha256),
 * or downloaded from a URL at init and served only when its sha256 is the one configured.
 */
let bundle: Awaited<ReturnType<typeof scratchBundle>>;
let artifact: Buffer;
let server: Server;
let base: string;
let downloads = 0;

beforeAll(async () => {
  bundle = await scratchBundle();
  artifact = readFileSync(join(bundle.build.dir, 'model', 'model.bin'));
  server = createServer((req, res) => {
    downloads++;
    if (req.url?.split('?')[0] === '/model.bin') res.end(artifact);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  bundle?.dispose();
});

const predict = httpApiV2Event({
  method: 'POST',
  path: '/predict',
  body: JSON.stringify({
    title: 'Object detection with YOLO',
    description: 'Real-time detection in images.',
  }),
});
const serving = loadServingConfig({});

describe('a model fetched from a URL', () => {
  it('is downloaded once at init, verified, and serves every warm invocation', async () => {
    const before = downloads;
    const handler = createLambdaHandler({
      model: {
        url: `${base}/model.bin?X-Amz-Signature=secret`,
        sha256: sha256Hex(artifact),
        name: 'tagifai',
        kind: bundle.build.manifest!.kind,
      },
      serving,
      cacheDir: join(bundle.build.dir, '..', 'cache'),
    });
    const h = handler as unknown as Handler;
    for (let i = 0; i < 3; i++) {
      const a = await h(predict, {});
      expect(a.statusCode).toBe(200);
      expect((bodyOf(a) as { results: unknown[] }).results).toHaveLength(1);
    }
    expect(downloads - before).toBe(1);
    const served = await handler.ready();
    expect(served.model).toMatchObject({ name: 'tagifai', version: 1, artifactSha256: sha256Hex(artifact) });
    // The presigned URL's query (its signature) is not kept where errors and metadata could show it.
    expect(served.model.artifactLocation).toBe(`${base}/model.bin`);
    await served.close();
  });

  it('a sha256 mismatch fails init with a clear error, and every invocation fails alike', async () => {
    const wrong = 'a'.repeat(64);
    const handler = createLambdaHandler({
      model: { url: `${base}/model.bin`, sha256: wrong, name: 'tagifai', kind: bundle.build.manifest!.kind },
      serving,
    });
    await expect(handler.ready()).rejects.toMatchObject({
      code: 'FERRY_REGISTRY_CHECKSUM_MISMATCH',
      message: expect.stringContaining(`expected ${wrong}, got ${sha256Hex(artifact)}`),
    });
    await expect(handler(predict, {})).rejects.toMatchObject({ code: 'FERRY_REGISTRY_CHECKSUM_MISMATCH' });
  });

  it('a URL needs FERRY_LAMBDA_MODEL_SHA256; an unreachable one is DATA_UNREACHABLE', async () => {
    expect(() => lambdaOptionsFromEnv({ FERRY_LAMBDA_MODEL_URL: `${base}/model.bin` })).toThrow(
      /FERRY_LAMBDA_MODEL_URL needs FERRY_LAMBDA_MODEL_SHA256/,
    );
    const opts = lambdaOptionsFromEnv({
      FERRY_LAMBDA_MODEL_URL: `${base}/missing.bin`,
      FERRY_LAMBDA_MODEL_SHA256: sha256Hex(artifact),
    });
    await expect(createLambdaHandler(opts).ready()).rejects.toMatchObject({
      code: 'FERRY_DATA_UNREACHABLE',
      message: expect.stringContaining('HTTP 404'),
    });
    expect(() => lambdaOptionsFromEnv({ FERRY_LAMBDA_PREDICTION_LOG: 'sql' })).toThrow(/off or stdout/);
  });
});

describe('the bundled model', () => {
  it('an altered artifact fails the bundle’s init (the process importing it exits with the reason)', () => {
    const copy = join(bundle.build.dir, '..', 'tampered');
    cpSync(bundle.build.dir, copy, { recursive: true });
    const bytes = readFileSync(join(copy, 'model', 'model.bin'));
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(join(copy, 'model', 'model.bin'), bytes);
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `await import(${JSON.stringify(join(copy, 'index.mjs'))})`],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH },
      },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/FERRY_REGISTRY_CHECKSUM_MISMATCH|does not match its sha256/);
    expect(r.stderr).toContain(`expected ${bundle.build.manifest!.sha256}`);
  });

  it('the intact bundle, copied alone outside the checkout (as /var/task), answers in a plain node process; FERRY_LAMBDA_PREDICTION_LOG=stdout', () => {
    // Nothing of the checkout (package.json, node_modules) may be reachable from the bundle.
    const task = mkdtempSync(join(tmpdir(), 'ferry-lambda-task-'));
    cpSync(bundle.build.dir, task, { recursive: true });
    const program = `
const { handler } = await import(${JSON.stringify(join(task, 'index.mjs'))});
const a = await handler(${JSON.stringify(predict)}, {});
process.stderr.write(JSON.stringify(a) + '\\n');`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', program], {
      encoding: 'utf8',
      cwd: task,
      env: { PATH: process.env.PATH, FERRY_LAMBDA_PREDICTION_LOG: 'stdout' },
    });
    rmSync(task, { recursive: true, force: true });
    expect(r.status, r.stderr).toBe(0);
    const answer = JSON.parse(r.stderr.trim().split('\n').pop()!) as { statusCode: number };
    expect(answer.statusCode).toBe(200);
    const logged = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.ferry === 'prediction');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ model: 'tagifai', version: 1, itemCount: 1, requestId: 'id' });
  });
});
