import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openKeyValueStore } from '../../src/adapters/factory.js';
import { RedisStore } from '../../src/adapters/redis/redis-store.js';
import { ErrorCode } from '../../src/core/errors.js';
import { keyValueStoreConformance } from '../conformance/key-value-store.conformance.js';
import { expectFerryError, expectFerryErrorSync } from '../helpers/expect-ferry-error.js';
import { freezableProxy } from '../helpers/freezable-proxy.js';
import { ownRedis } from '../helpers/redis-server.js';

/** The test server. No skipping: when it is down these tests fail. */
const redisUrl = process.env.FERRY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Every key this file writes lives under this run's prefix, removed in afterAll. */
const runPrefix = `ferry-test:${randomUUID()}:`;
let seq = 0;
const freshPrefix = () => `${runPrefix}${++seq}:`;

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

afterAll(async () => {
  const sweeper = new RedisStore({ url: redisUrl, prefix: runPrefix });
  await sweeper.init();
  try {
    await sweeper.deletePrefix('');
    // Nothing this run wrote may survive it.
    const probe = new RedisStore({ url: redisUrl, prefix: 'ferry-test:' });
    await probe.init();
    try {
      expect(await probe.deletePrefix(runPrefix.slice('ferry-test:'.length))).toBe(0);
    } finally {
      await probe.close();
    }
  } finally {
    await sweeper.close();
  }
});

keyValueStoreConformance('RedisStore', async () => {
  const store = new RedisStore({ url: redisUrl, prefix: freshPrefix() });
  return { store, dispose: () => store.close() };
});

describe('RedisStore', () => {
  const opened: RedisStore[] = [];
  const open = async (opts: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}) => {
    const store = new RedisStore({ url: redisUrl, prefix: freshPrefix(), ...opts });
    opened.push(store);
    await store.init();
    return store;
  };
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });

  it('lets two instances with the same prefix share entries, as replicas share a cache', async () => {
    const prefix = freshPrefix();
    const a = await open({ prefix });
    const b = await open({ prefix });
    await a.set('shared', bytes('from a'));
    await b.setMany([{ key: 'other', value: bytes('from b') }]);
    expect((await b.getMany(['shared', 'other'])).map(text)).toEqual(['from a', 'from b']);
    expect(text(await a.get('other'))).toBe('from b');
    expect(await b.deletePrefix('')).toBe(2);
    expect(await a.get('shared')).toBeUndefined();
  });

  it('keeps different prefixes apart', async () => {
    const a = await open();
    const b = await open();
    await a.set('k', bytes('a'));
    expect(await b.get('k')).toBeUndefined();
    expect(await b.deletePrefix('')).toBe(0);
    expect(text(await a.get('k'))).toBe('a');
  });

  it('stores keys under the prefix with a millisecond TTL in Redis itself', async () => {
    const prefix = freshPrefix();
    const store = await open({ prefix, defaultTtlMs: 30_000 });
    await store.set('k', bytes('v'));
    await store.set('forever', bytes('v'), { ttlMs: 3_600_000 });
    const { Redis } = await import('ioredis');
    const raw = new Redis(redisUrl);
    try {
      const pttl = await raw.pttl(`${prefix}k`);
      expect(pttl).toBeGreaterThan(25_000);
      expect(pttl).toBeLessThanOrEqual(30_000);
      expect(await raw.pttl(`${prefix}forever`)).toBeGreaterThan(3_000_000);
    } finally {
      raw.disconnect();
    }
  });

  it('reports an unreachable server at init as KV_UNAVAILABLE with host:port, no password', async () => {
    const store = new RedisStore({ url: 'redis://someone:hunter2secret@127.0.0.1:1', prefix: 'x:' });
    const started = Date.now();
    const error = await expectFerryError(store.init(), ErrorCode.KV_UNAVAILABLE, 503);
    expect(Date.now() - started).toBeLessThan(2000); // refused, not retried
    expect(error.message).toContain('127.0.0.1:1');
    expect(error.details).toMatchObject({ host: '127.0.0.1', port: 1 });
    expect(error.message).not.toContain('hunter2secret');
    expect(JSON.stringify(error.toJSON())).not.toContain('hunter2secret');
    expect(error.cause).toBeDefined();
    await store.close();
  });

  it('with failFastAtInit false, init succeeds while the server is down and the store works once it is up', async () => {
    const redis = await ownRedis(); // not started yet
    const store = new RedisStore({ url: redis.url, prefix: 'x:', failFastAtInit: false });
    try {
      const started = Date.now();
      await store.init();
      expect(Date.now() - started).toBeLessThan(2000);
      const error = await expectFerryError(store.get('k'), ErrorCode.KV_UNAVAILABLE, 503);
      expect(Date.now() - started).toBeLessThan(2000); // commands fail at once, not queued
      expect(error.message).toContain(`127.0.0.1:${redis.port}`);
      await redis.start();
      const until = Date.now() + 10_000;
      for (;;) {
        try {
          await store.set('k', bytes('v'));
          break;
        } catch (e) {
          if (Date.now() > until) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      expect(text(await store.get('k'))).toBe('v');
    } finally {
      await store.close();
      await redis.close();
    }
  });

  it('fails fast with KV_UNAVAILABLE when used before init or after close', async () => {
    const store = new RedisStore({ url: redisUrl, prefix: freshPrefix() });
    await expectFerryError(store.get('k'), ErrorCode.KV_UNAVAILABLE, 503);
    await store.init();
    await store.set('k', bytes('v'));
    await store.close();
    await store.close(); // closing twice is harmless
    await expectFerryError(store.getMany(['k']), ErrorCode.KV_UNAVAILABLE, 503);
  });

  it('fails commands at once, instead of queueing them, once the connection is gone', async () => {
    const connectionName = `ferry-test-${randomUUID().slice(0, 8)}`;
    // A long command timeout, so only fail-fast handling (not the timeout) can make this quick.
    const store = await open({ connectionName, commandTimeoutMs: 10_000 });
    await store.set('k', bytes('v'));
    // Kill this store's connection (and no one else's) from the server side, as a Redis restart would.
    const { Redis } = await import('ioredis');
    const admin = new Redis(redisUrl);
    try {
      const list = String(await admin.client('LIST'));
      const ids = list
        .split('\n')
        .filter((line) => line.includes(` name=${connectionName} `))
        .map((line) => /\bid=(\d+)/.exec(line)?.[1]);
      expect(ids).toHaveLength(1);
      await admin.client('KILL', 'ID', ids[0]!);
    } finally {
      admin.disconnect();
    }
    const started = Date.now();
    const outcome = await store.get('k').then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    expect(Date.now() - started).toBeLessThan(1000);
    if ('error' in outcome) {
      await expectFerryError(Promise.reject(outcome.error), ErrorCode.KV_UNAVAILABLE, 503);
    } else {
      // The client may already have reconnected: then the answer must be right.
      expect(text(outcome.value)).toBe('v');
    }
  });

  it('bounds a request to a server that stops answering by the command timeout', async () => {
    const proxy = await freezableProxy(redisUrl);
    const store = new RedisStore({ url: proxy.url, prefix: freshPrefix(), commandTimeoutMs: 300 });
    try {
      await store.init();
      await store.set('k', bytes('v'));
      expect(text(await store.get('k'))).toBe('v');
      proxy.freeze();
      const started = Date.now();
      await expectFerryError(store.get('k'), ErrorCode.KV_UNAVAILABLE, 503);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it('bounds init() against a server that accepts but never answers', async () => {
    const proxy = await freezableProxy(redisUrl);
    proxy.freeze();
    const store = new RedisStore({ url: proxy.url, prefix: 'x:', commandTimeoutMs: 300 });
    try {
      const started = Date.now();
      await expectFerryError(store.init(), ErrorCode.KV_UNAVAILABLE, 503);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await store.close();
      await proxy.close();
    }
  });

  it('reports a command Redis rejects as KV_ERROR', async () => {
    const prefix = freshPrefix();
    const store = await open({ prefix });
    const { Redis } = await import('ioredis');
    const raw = new Redis(redisUrl);
    try {
      await raw.rpush(`${prefix}list`, 'x'); // a list where a string is expected: WRONGTYPE
    } finally {
      raw.disconnect();
    }
    await expectFerryError(store.get('list'), ErrorCode.KV_ERROR, 500);
    expect(await store.delete('list')).toBe(true);
  });

  it('refuses bad options before any I/O', () => {
    for (const opts of [
      { url: 'http://127.0.0.1:6379', prefix: 'x:' },
      { url: 'not a url', prefix: 'x:' },
      { url: redisUrl, prefix: '' },
      { url: redisUrl, prefix: 'x:', defaultTtlMs: -5 },
    ]) {
      expectFerryErrorSync(() => new RedisStore(opts), ErrorCode.CONFIG_INVALID);
    }
  });

  it('is what the factory opens for the test URL', async () => {
    const store = openKeyValueStore(redisUrl, { prefix: freshPrefix() });
    await store.init();
    try {
      await store.set('via-factory', bytes('ok'));
      expect(text(await store.get('via-factory'))).toBe('ok');
    } finally {
      await store.close();
    }
  });
});
