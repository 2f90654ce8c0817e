import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openKeyValueStore } from '../../src/adapters/factory.js';
import type { TextInput } from '../../src/model/model.js';
import type { KeyValueStore } from '../../src/ports/key-value-store.js';
import { PredictionCache } from '../../src/serving/prediction-cache.js';
import { type OwnRedis, ownRedis } from '../helpers/redis-server.js';
import {
  ADMIN_TOKEN,
  CLASSES,
  createTestRegistry,
  metricSum,
  parseMetrics,
  startTestServer,
  type TestRegistry,
  type TestServer,
  trainSmall,
  V1_SPEC,
  V2_SPEC,
} from '../helpers/serving.js';

interface PredictionBody {
  results: { prediction: string; probabilities: Record<string, number> }[];
}

/** The test server. No skipping: when it is down these tests fail. */
const redisUrl = process.env.FERRY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The prefix the wiring (app/serving-stores.ts) puts in front of cache keys in Redis. */
const SERVING_PREFIX = 'ferry:cache:';

const unique = (what: string): TextInput => ({
  title: `${what} object detection ${randomUUID()}`,
  description: 'Transformers for segmentation of street images and deployment pipelines.',
});

async function predict(s: TestServer, input: TextInput) {
  const res = await s.app.inject({ method: 'POST', url: '/predict', payload: input });
  expect(res.statusCode, res.body).toBe(200);
  return {
    version: res.headers['x-ferry-model-version'],
    result: (res.json() as PredictionBody).results[0]!,
  };
}

async function cacheLookups(s: TestServer, result: 'hit' | 'miss' | 'error'): Promise<number> {
  const res = await s.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return metricSum(parseMetrics(res.body), 'ferry_cache_lookups_total', { result });
}

function expectSamePrediction(a: PredictionBody['results'][number], b: PredictionBody['results'][number]) {
  expect(a.prediction).toBe(b.prediction);
  for (const c of CLASSES) expect(a.probabilities[c]).toBeCloseTo(b.probabilities[c]!, 9);
}

/** What the model trained with `spec` answers in-process, to tell the versions apart. */
function modelAnswer(spec: typeof V1_SPEC, input: TextInput) {
  return trainSmall(spec).model.predictBatch([input])[0]!;
}

describe('in-memory prediction cache', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ listen: false, adminToken: ADMIN_TOKEN, flags: { cache: 'memory:' } });
  });
  afterAll(() => server?.close());

  it('the second identical request is a hit', async () => {
    const input = unique('memory');
    const hits0 = await cacheLookups(server, 'hit');
    const misses0 = await cacheLookups(server, 'miss');
    const first = await predict(server, input);
    expect(await cacheLookups(server, 'miss')).toBe(misses0 + 1);
    expect(await cacheLookups(server, 'hit')).toBe(hits0);
    // The cache is written off the request path: give it a moment.
    await new Promise((r) => setTimeout(r, 20));
    const second = await predict(server, input);
    expect(await cacheLookups(server, 'hit')).toBe(hits0 + 1);
    expectSamePrediction(first.result, second.result);
    expect(second.version).toBe('1');
  });

  it('a batch mixing cached and new inputs is answered in order', async () => {
    const known = unique('known');
    await predict(server, known);
    await new Promise((r) => setTimeout(r, 20));
    const fresh = unique('fresh');
    const hits0 = await cacheLookups(server, 'hit');
    const res = await server.app.inject({
      method: 'POST',
      url: '/predict',
      payload: { items: [fresh, known, fresh] },
    });
    expect(res.statusCode).toBe(200);
    const results = (res.json() as PredictionBody).results;
    expect(results).toHaveLength(3);
    expect(await cacheLookups(server, 'hit')).toBe(hits0 + 1);
    expectSamePrediction(results[1]!, modelAnswer(V1_SPEC, known));
    expectSamePrediction(results[0]!, modelAnswer(V1_SPEC, fresh));
    expectSamePrediction(results[2]!, modelAnswer(V1_SPEC, fresh));
  });

  it('after production moves to v2, the same input is answered by version 2, never from v1 entries', async () => {
    const input = unique('swap');
    const v1 = await predict(server, input);
    await new Promise((r) => setTimeout(r, 20));
    expect((await predict(server, input)).version).toBe('1'); // cached under v1 now
    expectSamePrediction(v1.result, modelAnswer(V1_SPEC, input));

    const move = await server.app.inject({
      method: 'PUT',
      url: '/v1/models/tagifai/aliases/production',
      payload: { version: 2 },
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(move.statusCode, move.body).toBe(200);
    for (let i = 0; i < 3; i++) {
      const after = await predict(server, input);
      expect(after.version).toBe('2');
      expectSamePrediction(after.result, modelAnswer(V2_SPEC, input));
      await new Promise((r) => setTimeout(r, 10));
    }
    // Back to 1: answered by 1 again, with version 1's answer.
    await server.reg.setAlias(1);
    await server.runtime.host.refresh();
    const back = await predict(server, input);
    expect(back.version).toBe('1');
    expectSamePrediction(back.result, modelAnswer(V1_SPEC, input));
  });

  it('cache off: no lookups are counted and answers are still right', async () => {
    const off = await startTestServer({ registry: server.reg, listen: false, flags: { cache: 'off' } });
    try {
      const input = unique('off');
      await predict(off, input);
      const again = await predict(off, input);
      expectSamePrediction(again.result, modelAnswer(V1_SPEC, input));
      expect(await cacheLookups(off, 'hit')).toBe(0);
      expect(await cacheLookups(off, 'miss')).toBe(0);
    } finally {
      await off.close();
    }
  });
});

describe('Redis prediction cache shared by two servers (real Redis)', () => {
  let reg: TestRegistry;
  let a: TestServer;
  let b: TestServer;
  let probe: KeyValueStore;
  let probeCache: PredictionCache;
  const written: string[] = [];

  beforeAll(async () => {
    probe = openKeyValueStore(redisUrl, { prefix: SERVING_PREFIX });
    await probe.init(); // fails (not skips) when Redis is down
    probeCache = new PredictionCache({ store: probe });
    reg = await createTestRegistry();
    const opts = {
      registry: reg,
      listen: false,
      flags: { cache: redisUrl },
      config: { cacheTtlMs: 120_000 },
    };
    a = await startTestServer(opts);
    b = await startTestServer(opts);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await reg?.close();
    if (probe) {
      for (const key of written) await probe.delete(key).catch(() => false);
      await probe.close();
    }
  });

  /**
   * Waits until `s` answers `input` from the cache, i.e. its entry is in Redis (servers write it off
   * the request path). Independent of the key format, which is the server's business.
   */
  async function waitForEntry(s: TestServer, version: number, input: TextInput): Promise<void> {
    // Best-effort cleanup with today's key format; entries also expire (cacheTtlMs).
    written.push(probeCache.key('tagifai', version, input));
    const until = Date.now() + 5000;
    while (Date.now() < until) {
      const hits = await cacheLookups(s, 'hit');
      await predict(s, input);
      if ((await cacheLookups(s, 'hit')) > hits) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('the prediction never reached Redis');
  }

  it('a prediction computed by server A is a cache hit on server B', async () => {
    const input = unique('redis');
    const bHits0 = await cacheLookups(b, 'hit');
    const aMiss0 = await cacheLookups(a, 'miss');
    const fromA = await predict(a, input);
    expect(await cacheLookups(a, 'miss')).toBe(aMiss0 + 1);
    await waitForEntry(a, 1, input);

    const fromB = await predict(b, input);
    expect(await cacheLookups(b, 'hit')).toBe(bHits0 + 1);
    expect(await cacheLookups(b, 'miss')).toBe(0);
    expect(fromB.version).toBe('1');
    expectSamePrediction(fromB.result, fromA.result);
  });

  it('after the alias moves, both servers answer from version 2 (v1 entries are not used)', async () => {
    const input = unique('redis-swap');
    await predict(a, input);
    await waitForEntry(a, 1, input);
    await reg.setAlias(2);
    await a.runtime.host.refresh();
    await b.runtime.host.refresh();
    for (const s of [a, b]) {
      const after = await predict(s, input);
      expect(after.version).toBe('2');
      expectSamePrediction(after.result, modelAnswer(V2_SPEC, input));
    }
    written.push(probeCache.key('tagifai', 2, input));
    await reg.setAlias(1);
    await a.runtime.host.refresh();
    await b.runtime.host.refresh();
  });

  it('a server of another registry whose version 1 is a different model never gets its answers', async () => {
    // Two deployments (or a registry rebuilt from scratch) sharing one Redis: "tagifai/1" names a
    // different artifact in each. The cache key must tell them apart (e.g. by the artifact sha256).
    const other = await startTestServer({
      registryOptions: { versions: [V2_SPEC], production: 1 },
      listen: false,
      flags: { cache: redisUrl },
      config: { cacheTtlMs: 120_000 },
    });
    try {
      const input = unique('redis-other-registry');
      const fromA = await predict(a, input);
      await waitForEntry(a, 1, input);
      expectSamePrediction(fromA.result, modelAnswer(V1_SPEC, input));
      const fromOther = await predict(other, input);
      expect(fromOther.version).toBe('1');
      expectSamePrediction(fromOther.result, modelAnswer(V2_SPEC, input));
    } finally {
      await other.close();
    }
  });
});

describe('Redis outages (a redis-server of the test own, started late and killed)', () => {
  let reg: TestRegistry;
  const cleanup: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    reg = await createTestRegistry();
  });
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
    await reg?.close();
  });

  async function setUp(): Promise<{ redis: OwnRedis; start(): Promise<TestServer> }> {
    const redis = await ownRedis();
    cleanup.push(() => redis.close());
    return {
      redis,
      start: async () => {
        const server = await startTestServer({ registry: reg, listen: false, flags: { cache: redis.url } });
        cleanup.push(() => server.close());
        return server;
      },
    };
  }

  /** Predicts `input` until an answer comes from the cache; false if none did within `ms`. */
  async function untilHit(s: TestServer, input: TextInput, ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      const hits = await cacheLookups(s, 'hit');
      await predict(s, input);
      if ((await cacheLookups(s, 'hit')) > hits) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  it('a server whose Redis is unreachable starts, serves uncached, counts errors, and uses Redis once it is up', async () => {
    const { redis, start } = await setUp(); // not started: nothing listens on its port
    const server = await start();
    const input = unique('redis-late');
    const first = await predict(server, input);
    expectSamePrediction(first.result, modelAnswer(V1_SPEC, input));
    await predict(server, input);
    // Each failed lookup counts as an error (one per item), not as a hit or a miss.
    expect(await cacheLookups(server, 'error')).toBe(2);
    expect(await cacheLookups(server, 'hit')).toBe(0);
    expect(await cacheLookups(server, 'miss')).toBe(0);
    const metrics = parseMetrics((await server.app.inject({ method: 'GET', url: '/metrics' })).body);
    expect(metricSum(metrics, 'ferry_cache_write_failures_total')).toBeGreaterThanOrEqual(1);

    await redis.start();
    // The client reconnects in the background (backoff capped at 2 s): hits appear.
    expect(await untilHit(server, input, 15_000)).toBe(true);
  }, 60_000);

  it('a Redis killed under a running server: predictions still succeed and lookups count as errors', async () => {
    const { redis, start } = await setUp();
    await redis.start();
    const server = await start();
    const input = unique('redis-killed');
    expect(await untilHit(server, input, 5000)).toBe(true);
    const errors0 = await cacheLookups(server, 'error');
    await redis.kill();
    for (let i = 0; i < 3; i++) {
      const answer = await predict(server, input);
      expectSamePrediction(answer.result, modelAnswer(V1_SPEC, input));
    }
    expect(await cacheLookups(server, 'error')).toBe(errors0 + 3);
    // And back again: the cache is used as soon as Redis is.
    await redis.start();
    expect(await untilHit(server, unique('redis-back'), 15_000)).toBe(true);
  }, 60_000);
});
