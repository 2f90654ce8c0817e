/**
 * Issue 8, item 8: an alias moved to a version whose artifact is corrupt used to answer 500 yet
 * commit the move; the running server then kept the old version silently, re-reading the artifact
 * on every poll, and a fresh server refused to start. Now the move is refused before it commits,
 * and a version that goes bad after its move is reported (log + metric) and retried with backoff.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../src/adapters/fs/fs-blob-store.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  MODEL,
  metricSum,
  PROJECTS,
  parseMetrics,
  STACK_TRACE,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

let reg: TestRegistry;
let server: TestServer;
let blobs: FsBlobStore;
beforeAll(async () => {
  reg = await createTestRegistry();
  server = await startTestServer({ registry: reg, adminToken: ADMIN_TOKEN, listen: false });
  blobs = new FsBlobStore(reg.config.artifacts);
});
afterAll(async () => {
  await server?.close();
  await reg?.close();
});

const moveAlias = (version: number) =>
  server.app.inject({
    method: 'PUT',
    url: `/v1/models/${MODEL}/aliases/production`,
    payload: { version },
    headers: auth,
  });
const servedVersion = async () => {
  const res = await server.app.inject({ method: 'POST', url: '/predict', payload: PROJECTS.nlp });
  expect(res.statusCode, res.body).toBe(200);
  return res.headers['x-ferry-model-version'];
};
const refreshErrors = async () => {
  const res = await server.app.inject({ method: 'GET', url: '/metrics' });
  return metricSum(parseMetrics(res.body), 'ferry_model_refresh_errors_total', {
    model: MODEL,
    stage: 'load',
  });
};

function expectRefused(res: LightMyRequestResponse, reason: string): void {
  expect(res.statusCode, res.body).toBe(409);
  expect(res.body).not.toMatch(STACK_TRACE);
  expect(res.body).not.toContain(reg.home);
  const body = res.json() as { error: { code: string; details: Record<string, unknown> } };
  expect(body.error.code).toBe('FERRY_REGISTRY_UNLOADABLE_VERSION');
  expect(body.error.details).toMatchObject({ version: 2, reason });
}

/** Replaces version 2's artifact file with `bytes` for the duration of `fn`. */
async function withArtifactOf2<T>(bytes: (original: Buffer) => Uint8Array, fn: () => Promise<T>): Promise<T> {
  const file = blobs.locate((await reg.registry.resolve(`${MODEL}/2`)).artifactSha256);
  const original = await readFile(file);
  await writeFile(file, bytes(original));
  try {
    return await fn();
  } finally {
    await writeFile(file, original);
  }
}

describe('moving an alias to a version whose artifact is corrupt', () => {
  it('is refused before it commits (409), the alias and the served version unchanged', async () => {
    const flipped = (b: Buffer) => {
      const copy = Buffer.from(b);
      copy[100] = copy[100]! ^ 1;
      return copy;
    };
    await withArtifactOf2(flipped, async () => {
      expectRefused(await moveAlias(2), 'FERRY_REGISTRY_CHECKSUM_MISMATCH');
    });
    await withArtifactOf2(
      (b) => b.subarray(0, 10),
      async () => {
        expectRefused(await moveAlias(2), 'FERRY_REGISTRY_CHECKSUM_MISMATCH');
      },
    );
    expect(await reg.production()).toBe(1);
    expect(await reg.registry.aliasHistory(MODEL, 'production')).toHaveLength(1);
    expect(await servedVersion()).toBe('1');
  });

  it('is refused when the checksum matches but the artifact does not decode', async () => {
    const bad = await reg.registry.register(
      MODEL,
      new TextEncoder().encode('{"format":"ferry-model","kind":"constructor"}'),
      {
        kind: 'ferry.text-classifier.tfidf-logreg',
        params: {},
        metrics: {},
        dataset: {},
      },
    );
    const res = await moveAlias(bad.version);
    expect(res.statusCode, res.body).toBe(409);
    expect((res.json() as { error: { details: { reason: string } } }).error.details.reason).toBe(
      'FERRY_MODEL_UNKNOWN_KIND',
    );
    expect(await reg.production()).toBe(1);
  });
});

describe('a version that goes bad after its alias moved', () => {
  it('is reported, counted and retried with backoff while the old version keeps serving', async () => {
    const moved = await moveAlias(2);
    expect(moved.statusCode, moved.body).toBe(200);
    expect(await servedVersion()).toBe('2');
    await reg.setAlias(1);
    await server.runtime.host.refresh();
    expect(await servedVersion()).toBe('1');
    // Now production moves to 2 again, and 2's artifact is damaged before this server loads it
    // (evicted meanwhile: production's old version is not kept).
    await reg.setAlias(2);
    await withArtifactOf2(
      (b) => Buffer.from(b).fill(0x20, 50, 60),
      async () => {
        const before = await refreshErrors();
        await server.runtime.host.refresh();
        expect(await servedVersion()).toBe('1');
        expect(await refreshErrors()).toBe(before + 1);
        // The poller's next ticks do not re-read the artifact: the retry waits (backoff).
        await server.runtime.host.refresh();
        await server.runtime.host.refresh();
        expect(await refreshErrors()).toBe(before + 1);
        // An explicit reload retries at once.
        const reload = await server.app.inject({ method: 'POST', url: '/v1/reload', headers: auth });
        expect(reload.statusCode).toBe(200);
        expect(await refreshErrors()).toBe(before + 2);
      },
    );
    // Repaired: the next explicit reload serves it.
    const reload = await server.app.inject({ method: 'POST', url: '/v1/reload', headers: auth });
    expect(reload.json()).toMatchObject({ served: { 'tagifai@production': 2 } });
    expect(await servedVersion()).toBe('2');
  });
});
