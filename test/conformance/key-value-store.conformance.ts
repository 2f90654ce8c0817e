import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/core/errors.js';
import type { KeyValueStore } from '../../src/ports/key-value-store.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';

/**
 * One empty store, not yet initialised. `advance` moves the store's clock; without it the suite
 * waits in real time, so TTLs stay short (but not so short that a busy machine expires them early).
 */
export interface KeyValueStoreHarness {
  store: KeyValueStore;
  advance?(ms: number): Promise<void> | void;
  dispose(): Promise<void>;
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

const SHORT_TTL_MS = 100;
const PAST_SHORT_TTL_MS = 250;

/** The behaviour every KeyValueStore must show. */
export function keyValueStoreConformance(name: string, makeStore: () => Promise<KeyValueStoreHarness>): void {
  describe(`KeyValueStore conformance: ${name}`, () => {
    let harness: KeyValueStoreHarness;
    let store: KeyValueStore;
    const elapse = async (ms: number) => {
      if (harness.advance !== undefined) await harness.advance(ms);
      else await sleep(ms);
    };

    beforeEach(async () => {
      harness = await makeStore();
      store = harness.store;
      await store.init();
      await store.init(); // documented as safe to call twice
    });

    afterEach(async () => {
      await harness.dispose();
    });

    it('gets what it set, undefined for a missing key, and replaces on a second set', async () => {
      expect(await store.get('missing')).toBeUndefined();
      await store.set('k', bytes('one'));
      expect(text(await store.get('k'))).toBe('one');
      await store.set('k', bytes('two'));
      expect(text(await store.get('k'))).toBe('two');
    });

    it('returns getMany results in the order asked, with misses and repeats in place', async () => {
      await store.set('a', bytes('A'));
      await store.set('c', bytes('C'));
      const got = await store.getMany(['c', 'missing', 'a', 'c', 'also-missing']);
      expect(got.map(text)).toEqual(['C', undefined, 'A', 'C', undefined]);
      expect(await store.getMany([])).toEqual([]);
    });

    it('is binary-safe: all 256 byte values, an empty value and a view into a larger buffer', async () => {
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      await store.set('all-bytes', all);
      const back = await store.get('all-bytes');
      expect(back).toBeInstanceOf(Uint8Array);
      expect(Array.from(back!)).toEqual(Array.from(all));

      await store.set('empty', new Uint8Array(0));
      const empty = await store.get('empty');
      expect(empty).toBeDefined();
      expect(empty!.byteLength).toBe(0);

      const backing = bytes('xxxxpayloadyyyy');
      await store.set('view', backing.subarray(4, 11));
      expect(text(await store.get('view'))).toBe('payload');
      const [viaMany] = await store.getMany(['all-bytes']);
      expect(Array.from(viaMany!)).toEqual(Array.from(all));
    });

    it('is not affected by callers mutating arrays after set or after get', async () => {
      const value = bytes('immutable');
      await store.set('k', value);
      value[0] = 0;
      const first = (await store.get('k'))!;
      first[1] = 0;
      expect(text(await store.get('k'))).toBe('immutable');
    });

    it('keeps unicode and punctuation-heavy keys distinct', async () => {
      const keys = ['日本語', 'café', 'cafe\u0301', '🚀:👩🏽‍🔬', 'with space', 'a*b?[c]\\d', 'tab\tnl\n', ''];
      for (const [i, key] of keys.entries()) await store.set(key, bytes(`v${i}`));
      expect((await store.getMany(keys)).map(text)).toEqual(keys.map((_, i) => `v${i}`));
      expect(await store.get('cafe')).toBeUndefined();
    });

    it('expires entries after their TTL and leaves entries without one', async () => {
      await store.set('short', bytes('s'), { ttlMs: SHORT_TTL_MS });
      expect(text(await store.get('short'))).toBe('s');
      await store.setMany([{ key: 'short-many', value: bytes('sm'), ttlMs: SHORT_TTL_MS }]);
      await store.set('long', bytes('l'), { ttlMs: 60_000 });
      await store.set('forever', bytes('f'));
      await elapse(PAST_SHORT_TTL_MS);
      expect(await store.get('short')).toBeUndefined();
      expect((await store.getMany(['short', 'short-many', 'long', 'forever'])).map(text)).toEqual([
        undefined,
        undefined,
        'l',
        'f',
      ]);
      expect(await store.delete('short-many')).toBe(false);
    });

    it('resets the TTL when a key is set again', async () => {
      await store.set('k', bytes('old'), { ttlMs: SHORT_TTL_MS });
      await store.set('k', bytes('new'));
      await elapse(PAST_SHORT_TTL_MS);
      expect(text(await store.get('k'))).toBe('new');
    });

    it('rejects a TTL that is not a positive finite number, writing nothing', async () => {
      for (const ttlMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expectFerryError(store.set('bad', bytes('x'), { ttlMs }), ErrorCode.KV_INVALID_TTL);
      }
      await expectFerryError(
        store.setMany([
          { key: 'ok', value: bytes('x') },
          { key: 'bad', value: bytes('x'), ttlMs: 0 },
        ]),
        ErrorCode.KV_INVALID_TTL,
      );
      expect(await store.getMany(['ok', 'bad'])).toEqual([undefined, undefined]);
    });

    it('deletes a key and says whether it was there', async () => {
      await store.set('k', bytes('v'));
      await store.set('other', bytes('o'));
      expect(await store.delete('k')).toBe(true);
      expect(await store.delete('k')).toBe(false);
      expect(await store.delete('never')).toBe(false);
      expect(await store.get('k')).toBeUndefined();
      expect(text(await store.get('other'))).toBe('o');
    });

    it('deletePrefix removes exactly the keys with that literal prefix and counts them', async () => {
      const keys = [
        'user:1',
        'user:2',
        'user:10',
        'users',
        'usr:1',
        'User:1',
        'x:user:1',
        'glob*:1',
        'globber',
      ];
      await store.setMany(keys.map((key) => ({ key, value: bytes(key) })));
      expect(await store.deletePrefix('user:')).toBe(3);
      expect((await store.getMany(keys)).map(text)).toEqual([
        undefined,
        undefined,
        undefined,
        'users',
        'usr:1',
        'User:1',
        'x:user:1',
        'glob*:1',
        'globber',
      ]);
      // Glob metacharacters in the prefix are literal, not patterns.
      expect(await store.deletePrefix('glob*')).toBe(1);
      expect(text(await store.get('globber'))).toBe('globber');
      expect(await store.deletePrefix('nothing-here:')).toBe(0);
    });

    it('deletePrefix copes with many keys and an empty prefix clears only this store', async () => {
      const many = Array.from({ length: 1200 }, (_, i) => ({ key: `bulk:${i}`, value: bytes(String(i)) }));
      await store.setMany(many);
      await store.set('keep', bytes('k'));
      expect(await store.deletePrefix('bulk:')).toBe(1200);
      expect(text(await store.get('keep'))).toBe('k');
      expect(await store.deletePrefix('')).toBe(1);
      expect(await store.get('keep')).toBeUndefined();
    });

    it('setMany stores every entry, later entries winning over earlier ones for the same key', async () => {
      await store.setMany([
        { key: 'a', value: bytes('1') },
        { key: 'b', value: bytes('2'), ttlMs: 60_000 },
        { key: 'a', value: bytes('3') },
      ]);
      expect((await store.getMany(['a', 'b'])).map(text)).toEqual(['3', '2']);
      await store.setMany([]);
    });
  });
}
