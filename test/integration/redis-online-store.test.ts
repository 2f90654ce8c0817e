import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { openOnlineStore } from '../../src/adapters/factory.js';
import { RedisOnlineStore } from '../../src/adapters/redis/redis-online-store.js';
import { RedisStore } from '../../src/adapters/redis/redis-store.js';
import { ErrorCode } from '../../src/core/errors.js';
import { onlineFeatureStoreConformance } from '../conformance/online-feature-store.conformance.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { freezableProxy } from '../helpers/freezable-proxy.js';
import { ownRedis } from '../helpers/redis-server.js';

/** The test server. No skipping: when it is down these tests fail. */
const redisUrl = process.env.FERRY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Every key this file writes lives under this run's prefix, removed in afterAll. */
const runPrefix = `ferry-test:${randomUUID()}:`;
let seq = 0;
const freshPrefix = () => `${runPrefix}${++seq}:`;

afterAll(async () => {
  const sweeper = new RedisStore({ url: redisUrl, prefix: runPrefix });
  await sweeper.init();
  try {
    await sweeper.deletePrefix('');
  } finally {
    await sweeper.close();
  }
});

onlineFeatureStoreConformance('Redis', async () => {
  const prefix = freshPrefix();
  const store = new RedisOnlineStore({ url: redisUrl, prefix });
  return {
    store,
    another: async () => new RedisOnlineStore({ url: redisUrl, prefix }),
    dispose: () => store.close(),
  };
});

/** Retries `fn` until it resolves (the client reconnecting in the background), for up to 10 s. */
async function eventually<T>(fn: () => Promise<T>): Promise<T> {
  const until = Date.now() + 10_000;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('RedisOnlineStore', () => {
  it('keeps one hash per (view, entity) under the prefix, with t, w and v, and the expiry asked for', async () => {
    const prefix = freshPrefix();
    const store = new RedisOnlineStore({ url: redisUrl, prefix, clock: () => 1234 });
    await store.init();
    const { Redis } = await import('ioredis');
    const raw = new Redis(redisUrl);
    try {
      const eventTimeMs = Date.now();
      await store.writeMany([{ view: 'v', entityKey: 'u1\u001fp9', eventTimeMs, values: { a: [1] } }]);
      const key = `${prefix}of:v:u1\u001fp9`;
      expect(await raw.hgetall(key)).toEqual({ t: String(eventTimeMs), w: '1234', v: '{"a":[1]}' });
      expect(await raw.pttl(key)).toBe(-1);

      await store.writeMany([{ view: 'v', entityKey: 'u1\u001fp9', eventTimeMs, values: { a: [2] } }], {
        expireAfterMs: 60_000,
      });
      const pttl = await raw.pttl(key);
      expect(pttl).toBeGreaterThan(50_000);
      expect(pttl).toBeLessThanOrEqual(60_000);
      // A later write without expireAfterMs keeps the row for good again.
      await store.writeMany([{ view: 'v', entityKey: 'u1\u001fp9', eventTimeMs, values: { a: [3] } }]);
      expect(await raw.pttl(key)).toBe(-1);
      // A skipped (older) write changes nothing, expiry included.
      await store.writeMany([{ view: 'v', entityKey: 'u1\u001fp9', eventTimeMs: 1, values: {} }], {
        expireAfterMs: 1,
      });
      expect(await raw.hget(key, 'v')).toBe('{"a":[3]}');
      expect(await raw.pttl(key)).toBe(-1);
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('lets a row expire by event time + expireAfterMs', async () => {
    const store = new RedisOnlineStore({ url: redisUrl, prefix: freshPrefix() });
    await store.init();
    try {
      const now = Date.now();
      await store.writeMany(
        [
          { view: 'v', entityKey: 'old', eventTimeMs: now - 10_000, values: { x: 1 } },
          { view: 'v', entityKey: 'fresh', eventTimeMs: now, values: { x: 2 } },
        ],
        { expireAfterMs: 5_000 },
      );
      const [old, fresh] = await store.readMany('v', ['old', 'fresh']);
      expect(old).toBeUndefined();
      expect(fresh?.values).toEqual({ x: 2 });
      await expectFerryError(
        store.writeMany([{ view: 'v', entityKey: 'x', eventTimeMs: now, values: {} }], { expireAfterMs: 0 }),
        ErrorCode.FEATURES_INVALID_REQUEST,
        400,
      );
    } finally {
      await store.close();
    }
  });

  it('reports a value Redis holds under the key that is not a row as DB_ERROR', async () => {
    const prefix = freshPrefix();
    const store = new RedisOnlineStore({ url: redisUrl, prefix });
    await store.init();
    const { Redis } = await import('ioredis');
    const raw = new Redis(redisUrl);
    try {
      await raw.set(`${prefix}of:v:plain`, 'x'); // a string where a hash is expected: WRONGTYPE
      await expectFerryError(store.readMany('v', ['plain']), ErrorCode.DB_ERROR, 500);
      await expectFerryError(store.readMany('v', ['plain', 'other']), ErrorCode.DB_ERROR, 500);
      await expectFerryError(
        store.writeMany([{ view: 'v', entityKey: 'plain', eventTimeMs: 1, values: {} }]),
        ErrorCode.DB_ERROR,
        500,
      );
    } finally {
      raw.disconnect();
      await store.close();
    }
  });

  it('fails fast with FEATURES_UNAVAILABLE while its Redis is down, and recovers when it is back', async () => {
    const redis = await ownRedis();
    await redis.start();
    const store = openOnlineStore(redis.url, { prefix: 'x:' });
    try {
      await store.init();
      const row = { view: 'v', entityKey: 'e', eventTimeMs: 1, values: { a: 1 } };
      expect(await store.writeMany([row])).toBe(1);
      expect((await store.readMany('v', ['e', 'f']))[0]?.values).toEqual({ a: 1 });

      await redis.kill();
      for (const call of [
        () => store.readMany('v', ['e']),
        () => store.readMany('v', ['e', 'f']),
        () => store.writeMany([row, { ...row, entityKey: 'f' }]),
        () => store.deleteView('v'),
      ]) {
        const started = Date.now();
        const error = await expectFerryError(call(), ErrorCode.FEATURES_UNAVAILABLE, 503);
        expect(Date.now() - started).toBeLessThan(1000);
        expect(error.message).toContain(`127.0.0.1:${redis.port}`);
      }

      // A new process, empty (no persistence), and with no scripts loaded: the store must load them.
      await redis.start();
      expect(
        await eventually(() =>
          store.writeMany([
            { ...row, values: { a: 2 } },
            { ...row, entityKey: 'f' },
          ]),
        ),
      ).toBe(2);
      const [e, f] = await store.readMany('v', ['e', 'f']);
      expect(e?.values).toEqual({ a: 2 });
      expect(f?.values).toEqual({ a: 1 });
    } finally {
      await store.close();
      await redis.close();
    }
  });

  it('reports an unreachable server at init as FEATURES_UNAVAILABLE, at once, without the password', async () => {
    const store = openOnlineStore('redis://someone:hunter2secret@127.0.0.1:1');
    const started = Date.now();
    const error = await expectFerryError(store.init(), ErrorCode.FEATURES_UNAVAILABLE, 503);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.message).not.toContain('hunter2secret');
    expect(JSON.stringify(error.toJSON())).not.toContain('hunter2secret');
    await store.close();
  });

  it('with failFastAtInit false, starts while Redis is down and works once it is up', async () => {
    const redis = await ownRedis(); // not started yet
    const store = openOnlineStore(redis.url, { prefix: 'x:', failFastAtInit: false });
    try {
      await store.init();
      await expectFerryError(store.readMany('v', ['e']), ErrorCode.FEATURES_UNAVAILABLE, 503);
      await redis.start();
      await eventually(() => store.writeMany([{ view: 'v', entityKey: 'e', eventTimeMs: 1, values: {} }]));
      expect((await store.readMany('v', ['e']))[0]?.eventTimeMs).toBe(1);
    } finally {
      await store.close();
      await redis.close();
    }
  });

  it('bounds a call to a server that stops answering by the command timeout', async () => {
    const proxy = await freezableProxy(redisUrl);
    const store = new RedisOnlineStore({ url: proxy.url, prefix: freshPrefix(), commandTimeoutMs: 300 });
    try {
      await store.init();
      await store.writeMany([{ view: 'v', entityKey: 'e', eventTimeMs: 1, values: {} }]);
      proxy.freeze();
      for (const call of [() => store.readMany('v', ['e']), () => store.readMany('v', ['e', 'f'])]) {
        const started = Date.now();
        await expectFerryError(call(), ErrorCode.FEATURES_UNAVAILABLE, 503);
        expect(Date.now() - started).toBeLessThan(1500);
      }
    } finally {
      await store.close();
      await proxy.close();
    }
  });
});
