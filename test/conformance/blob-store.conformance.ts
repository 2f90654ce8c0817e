import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/core/hash.js';
import type { BlobStore } from '../../src/ports/blob-store.js';

const text = (s: string) => new TextEncoder().encode(s);

/** The behaviour every BlobStore must show; `makeStore` returns an empty store. */
export function blobStoreConformance(name: string, makeStore: () => Promise<BlobStore>): void {
  describe(`BlobStore conformance: ${name}`, () => {
    it('names a blob by the sha256 of its bytes and gives the bytes back', async () => {
      const store = await makeStore();
      const bytes = text('hello, ferry');
      const digest = await store.put(bytes);
      expect(digest).toBe(sha256Hex(bytes));
      expect(await store.has(digest)).toBe(true);
      expect(Array.from((await store.get(digest))!)).toEqual(Array.from(bytes));
    });

    it('reads a blob with its size checked first and its sha256 computed', async () => {
      const store = await makeStore();
      const bytes = text('read me');
      const digest = await store.put(bytes);
      const read = await store.read(digest, bytes.byteLength);
      expect(read).toMatchObject({ status: 'ok', sha256: digest });
      expect(read.status === 'ok' && Array.from(read.bytes)).toEqual(Array.from(bytes));
      expect(await store.read(digest, bytes.byteLength + 1)).toEqual({
        status: 'size-mismatch',
        actualSize: bytes.byteLength,
      });
      expect(await store.read(sha256Hex('never stored'), 3)).toEqual({ status: 'missing' });
    });

    it('returns undefined / false for an unknown digest', async () => {
      const store = await makeStore();
      const unknown = sha256Hex('never stored');
      expect(await store.get(unknown)).toBeUndefined();
      expect(await store.has(unknown)).toBe(false);
    });

    it('stores empty and large blobs', async () => {
      const store = await makeStore();
      const empty = new Uint8Array(0);
      const large = new Uint8Array(randomBytes(3 * 1024 * 1024));
      const [d0, d1] = [await store.put(empty), await store.put(large)];
      expect((await store.get(d0))!.byteLength).toBe(0);
      const back = (await store.get(d1))!;
      expect(back.byteLength).toBe(large.byteLength);
      expect(sha256Hex(back)).toBe(d1);
    });

    it('treats writing the same bytes twice, even concurrently, as one blob', async () => {
      const store = await makeStore();
      const bytes = new Uint8Array(randomBytes(256 * 1024));
      const digests = await Promise.all(Array.from({ length: 8 }, () => store.put(bytes)));
      expect(new Set(digests)).toEqual(new Set([sha256Hex(bytes)]));
      expect(sha256Hex((await store.get(digests[0]!))!)).toBe(sha256Hex(bytes));
    });

    it('is not affected by callers mutating arrays after put or after get', async () => {
      const store = await makeStore();
      const bytes = text('immutable');
      const digest = await store.put(bytes);
      bytes[0] = 0;
      const first = (await store.get(digest))!;
      first[1] = 0;
      expect(sha256Hex((await store.get(digest))!)).toBe(digest);
    });

    it('accepts a Uint8Array view into a larger buffer', async () => {
      const store = await makeStore();
      const backing = text('xxxxpayloadyyyy');
      const view = backing.subarray(4, 11);
      const digest = await store.put(view);
      expect(digest).toBe(sha256Hex(text('payload')));
      expect(new TextDecoder().decode(await store.get(digest))).toBe('payload');
    });

    it('locates a blob with a string naming its digest', async () => {
      const store = await makeStore();
      const digest = await store.put(text('where'));
      expect(store.locate(digest)).toContain(digest);
    });
  });
}
