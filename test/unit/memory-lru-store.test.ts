import { describe, expect, it } from 'vitest';
import { openKeyValueStore } from '../../src/adapters/factory.js';
import { MemoryLruStore } from '../../src/adapters/memory/memory-lru-store.js';
import { RedisStore } from '../../src/adapters/redis/redis-store.js';
import { ErrorCode } from '../../src/core/errors.js';
import { keyValueStoreConformance } from '../conformance/key-value-store.conformance.js';
import { expectFerryError, expectFerryErrorSync } from '../helpers/expect-ferry-error.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

function manualClock(start = 1_000_000) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

keyValueStoreConformance('MemoryLruStore', async () => {
  const clock = manualClock();
  const store = new MemoryLruStore({ now: clock.now });
  return { store, advance: clock.advance, dispose: () => store.close() };
});

describe('MemoryLruStore', () => {
  it('evicts the least recently used entry past maxEntries', async () => {
    const store = new MemoryLruStore({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c', 'd']) await store.set(k, bytes(k));
    expect((await store.getMany(['a', 'b', 'c', 'd'])).map(text)).toEqual([undefined, 'b', 'c', 'd']);
    expect(store.stats()).toMatchObject({ entries: 3, evictions: 1 });
  });

  it('evicts by bytes, counting key and value, until the new entry fits', async () => {
    // Each entry: 1-byte key + 9-byte value = 10 bytes.
    const store = new MemoryLruStore({ maxBytes: 30 });
    for (const k of ['a', 'b', 'c']) await store.set(k, new Uint8Array(9));
    expect(store.stats()).toMatchObject({ entries: 3, bytes: 30, evictions: 0 });
    await store.set('d', new Uint8Array(19)); // 20 bytes: 'a' and 'b' must go
    expect((await store.getMany(['a', 'b', 'c', 'd'])).map((v) => v?.byteLength)).toEqual([
      undefined,
      undefined,
      9,
      19,
    ]);
    expect(store.stats()).toMatchObject({ entries: 2, bytes: 30, evictions: 2 });
  });

  it('counts multi-byte keys by their UTF-8 length', async () => {
    const store = new MemoryLruStore();
    await store.set('é', new Uint8Array(3));
    expect(store.stats().bytes).toBe(5);
  });

  it('treats get and getMany as a use, so a recently read entry survives', async () => {
    const store = new MemoryLruStore({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) await store.set(k, bytes(k));
    await store.get('a');
    await store.set('d', bytes('d')); // evicts b, the least recently used
    await store.getMany(['c']);
    await store.set('e', bytes('e')); // evicts a: c was just read
    expect((await store.getMany(['a', 'b', 'c', 'd', 'e'])).map(text)).toEqual([
      undefined,
      undefined,
      'c',
      'd',
      'e',
    ]);
  });

  it('keeps the LRU order when the most recent entry is read again, deleted or evicted', async () => {
    // The store skips moving an entry that is the most recent already; these reads and removals
    // must leave the same order a plain move-on-every-read would.
    const store = new MemoryLruStore({ maxEntries: 3 });
    for (const k of ['a', 'b', 'c']) await store.set(k, bytes(k));
    await store.get('c'); // the newest already: a, b, c
    await store.get('c');
    await store.get('a'); // b, c, a
    await store.delete('a'); // b, c (the newest is gone)
    await store.get('b'); // c, b
    await store.set('d', bytes('d')); // c, b, d
    await store.set('e', bytes('e')); // evicts c: b, d, e
    expect((await store.getMany(['c'])).map(text)).toEqual([undefined]);
    await store.get('b'); // d, e, b
    await store.set('a', bytes('a2')); // evicts d: e, b, a
    await store.get('a'); // the newest, rewritten: still e, b, a
    await store.set('f', bytes('f')); // evicts e: b, a, f
    expect((await store.getMany(['a', 'b', 'd', 'e', 'f'])).map(text)).toEqual([
      'a2',
      'b',
      undefined,
      undefined,
      'f',
    ]);
    // A write makes its entry the newest: the entry read just before it must move again.
    const two = new MemoryLruStore({ maxEntries: 2 });
    await two.set('x', bytes('x'));
    await two.get('x');
    await two.set('y', bytes('y')); // x, y
    await two.get('x'); // y, x
    await two.set('z', bytes('z')); // evicts y
    expect((await two.getMany(['x', 'y', 'z'])).map(text)).toEqual(['x', undefined, 'z']);
    await store.close();
    await store.set('g', bytes('g'));
    expect(await store.getMany(['g', 'f']).then((r) => r.map(text))).toEqual(['g', undefined]);
  });

  it('treats overwriting as a use and keeps byte accounting exact', async () => {
    const store = new MemoryLruStore({ maxEntries: 2 });
    await store.set('a', new Uint8Array(10));
    await store.set('b', new Uint8Array(1));
    await store.set('a', new Uint8Array(4));
    expect(store.stats()).toMatchObject({ entries: 2, bytes: 1 + 4 + (1 + 1) });
    await store.set('c', new Uint8Array(1)); // b is now the least recently used
    expect((await store.getMany(['a', 'b', 'c'])).map((v) => v?.byteLength)).toEqual([4, undefined, 1]);
    await store.delete('a');
    await store.deletePrefix('c');
    expect(store.stats()).toMatchObject({ entries: 0, bytes: 0 });
  });

  it('refuses an entry larger than maxBytes and keeps what it had', async () => {
    const store = new MemoryLruStore({ maxBytes: 16 });
    await store.set('k', bytes('small'));
    const error = await expectFerryError(store.set('k', new Uint8Array(16)), ErrorCode.KV_VALUE_TOO_LARGE);
    expect(error.details).toMatchObject({ size: 17, maxBytes: 16 });
    await expectFerryError(
      store.setMany([
        { key: 'other', value: bytes('ok') },
        { key: 'huge', value: new Uint8Array(100) },
      ]),
      ErrorCode.KV_VALUE_TOO_LARGE,
    );
    expect((await store.getMany(['k', 'other', 'huge'])).map(text)).toEqual(['small', undefined, undefined]);
    expect(store.stats()).toMatchObject({ entries: 1, evictions: 0 });
  });

  it('expires exactly at the TTL on the injected clock, and applies the default TTL', async () => {
    const clock = manualClock();
    const store = new MemoryLruStore({ now: clock.now, defaultTtlMs: 1000 });
    await store.set('default', bytes('d'));
    await store.set('own', bytes('o'), { ttlMs: 5000 });
    await store.set('fraction', bytes('f'), { ttlMs: 0.5 }); // rounds up to 1 ms
    clock.advance(999);
    expect((await store.getMany(['default', 'own', 'fraction'])).map(text)).toEqual(['d', 'o', undefined]);
    clock.advance(1);
    expect((await store.getMany(['default', 'own'])).map(text)).toEqual([undefined, 'o']);
    clock.advance(4000);
    expect(await store.get('own')).toBeUndefined();
  });

  it('drops expired entries lazily, or all at once with prune()', async () => {
    const clock = manualClock();
    const store = new MemoryLruStore({ now: clock.now });
    await store.set('a', bytes('a'), { ttlMs: 10 });
    await store.set('b', bytes('b'), { ttlMs: 10 });
    await store.set('c', bytes('c'));
    clock.advance(10);
    expect(store.stats()).toMatchObject({ entries: 3, expirations: 0 }); // nothing touched yet
    await store.get('a');
    expect(store.stats()).toMatchObject({ entries: 2, expirations: 1 });
    expect(store.prune()).toBe(1);
    expect(store.stats()).toMatchObject({ entries: 1, bytes: 2, expirations: 2, evictions: 0 });
  });

  it('does not count an expired entry pushed out by pressure as an eviction', async () => {
    const clock = manualClock();
    const store = new MemoryLruStore({ now: clock.now, maxEntries: 1 });
    await store.set('a', bytes('a'), { ttlMs: 10 });
    clock.advance(20);
    await store.set('b', bytes('b'));
    expect(store.stats()).toMatchObject({ entries: 1, evictions: 0, expirations: 1 });
  });

  it('rejects bad bounds and a bad default TTL at construction', () => {
    for (const opts of [{ maxEntries: 0 }, { maxEntries: 1.5 }, { maxBytes: -1 }, { defaultTtlMs: 0 }]) {
      expectFerryErrorSync(() => new MemoryLruStore(opts), ErrorCode.CONFIG_INVALID);
    }
  });

  it('empties on close', async () => {
    const store = new MemoryLruStore();
    await store.set('k', bytes('v'));
    await store.close();
    expect(store.stats()).toMatchObject({ entries: 0, bytes: 0 });
  });
});

describe('openKeyValueStore', () => {
  it('opens memory: as a bounded LRU with the given limits', async () => {
    const store = openKeyValueStore(' memory: ', { maxEntries: 1, defaultTtlMs: 60_000 });
    expect(store).toBeInstanceOf(MemoryLruStore);
    expect((store as MemoryLruStore).maxEntries).toBe(1);
    expect((store as MemoryLruStore).defaultTtlMs).toBe(60_000);
  });

  it('opens redis:// and rediss:// without connecting, with a default prefix', () => {
    const plain = openKeyValueStore('redis://127.0.0.1:1');
    expect(plain).toBeInstanceOf(RedisStore);
    expect((plain as RedisStore).prefix).toBe('ferry:');
    const tls = openKeyValueStore('rediss://user:secret@cache.example:6380/2', { prefix: 'app:' });
    expect((tls as RedisStore).prefix).toBe('app:');
  });

  it('rejects other URLs with CONFIG_INVALID, never echoing the URL', () => {
    for (const url of ['', 'memcached://x', 'sqlite:./x.db', 'plainpath']) {
      const error = expectFerryErrorSync(() => openKeyValueStore(url), ErrorCode.CONFIG_INVALID);
      expect(error.message).not.toContain('plainpath');
    }
    expectFerryErrorSync(() => openKeyValueStore('redis://h', { prefix: '' }), ErrorCode.CONFIG_INVALID);
  });
});
