import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore, MAX_BLOB_BYTES } from '../../src/adapters/fs/fs-blob-store.js';
import { MemoryBlobStore } from '../../src/adapters/memory/memory-blob-store.js';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { ErrorCode } from '../../src/core/errors.js';
import { sha256Hex } from '../../src/core/hash.js';
import { ModelRegistry } from '../../src/registry/index.js';
import { blobStoreConformance } from '../conformance/blob-store.conformance.js';
import { expectFerryError, expectFerryErrorSync } from '../helpers/expect-ferry-error.js';

const root = mkdtempSync(join(tmpdir(), 'ferry-blobs-'));
let seq = 0;
const freshDir = () => join(root, `store-${++seq}`);

afterAll(() => rmSync(root, { recursive: true, force: true }));

blobStoreConformance('FsBlobStore', async () => new FsBlobStore(freshDir()));
blobStoreConformance('MemoryBlobStore', async () => new MemoryBlobStore());

describe('FsBlobStore', () => {
  const bytes = new TextEncoder().encode('artifact bytes');
  const digest = sha256Hex(bytes);

  it('does no I/O until the first put, then lays blobs out as sha256/<ab>/<digest>', async () => {
    const dir = freshDir();
    const store = new FsBlobStore(dir);
    expect(existsSync(dir)).toBe(false);
    await store.put(bytes);
    const expected = join(dir, 'sha256', digest.slice(0, 2), digest);
    expect(store.locate(digest)).toBe(expected);
    expect(await readFile(expected)).toEqual(Buffer.from(bytes));
  });

  it('leaves no temporary files behind, even after concurrent writes', async () => {
    const store = new FsBlobStore(freshDir());
    await Promise.all(Array.from({ length: 6 }, () => store.put(bytes)));
    expect(await readdir(join(store.root, 'sha256', digest.slice(0, 2)))).toEqual([digest]);
  });

  it('rewrites a damaged file when the same bytes are put again', async () => {
    const store = new FsBlobStore(freshDir());
    await store.put(bytes);
    await writeFile(store.locate(digest), 'tampered');
    await store.put(bytes);
    expect(sha256Hex((await store.get(digest))!)).toBe(digest);
  });

  it('never turns a malformed digest into a path', async () => {
    const store = new FsBlobStore(freshDir());
    expect(await store.get('../../etc/passwd')).toBeUndefined();
    expect(await store.has('../../etc/passwd')).toBe(false);
    expect(await store.get(digest.toUpperCase())).toBeUndefined();
    expectFerryErrorSync(() => store.locate('../x'), ErrorCode.INTERNAL);
  });
});

/** Makes `path` a sparse file of `size` bytes: instant, and no disk used, whatever the size. */
async function sparseFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.truncate(size);
  } finally {
    await handle.close();
  }
}

describe('FsBlobStore: what is at a blob path is checked before it is read (issue 8, item 14)', () => {
  const bytes = new TextEncoder().encode('{"a genuine":"artifact"}');
  const digest = sha256Hex(bytes);

  async function registryOn(
    store: FsBlobStore,
  ): Promise<{ registry: ModelRegistry; close(): Promise<void> }> {
    const sql = new SqliteClient({ path: ':memory:' });
    await sql.init();
    const registry = new ModelRegistry({ sql, blobs: store });
    await registry.init();
    await registry.register('m', bytes, { kind: 'k', params: {}, metrics: {}, dataset: {} });
    return { registry, close: () => sql.close() };
  }

  it('refuses a file of the wrong size from its size alone, even one over 2 GiB', async () => {
    const store = new FsBlobStore(freshDir());
    const { registry, close } = await registryOn(store);
    try {
      await sparseFile(store.locate(digest), MAX_BLOB_BYTES + 1 + 1024 ** 3);
      const started = performance.now();
      expect(await store.read(digest, bytes.byteLength)).toEqual({
        status: 'size-mismatch',
        actualSize: MAX_BLOB_BYTES + 1 + 1024 ** 3,
      });
      await expectFerryError(registry.loadArtifact('m/1'), ErrorCode.REGISTRY_CHECKSUM_MISMATCH, 500);
      await expectFerryError(store.get(digest), ErrorCode.REGISTRY_CHECKSUM_MISMATCH, 500);
      // A stat, not a 3 GiB read.
      expect(performance.now() - started).toBeLessThan(1000);
      // 1.5 GiB: readable by Node, but still refused without reading it.
      await sparseFile(store.locate(digest), 1.5 * 1024 ** 3);
      const again = performance.now();
      await expectFerryError(registry.loadArtifact('m/1'), ErrorCode.REGISTRY_CHECKSUM_MISMATCH, 500);
      expect(performance.now() - again).toBeLessThan(1000);
    } finally {
      await close();
    }
  });

  it('treats a directory where a blob should be as a missing artifact', async () => {
    const store = new FsBlobStore(freshDir());
    const { registry, close } = await registryOn(store);
    try {
      await rm(store.locate(digest));
      await mkdir(store.locate(digest));
      expect(await store.read(digest, bytes.byteLength)).toEqual({ status: 'missing' });
      expect(await store.get(digest)).toBeUndefined();
      expect(await store.has(digest)).toBe(false);
      await expectFerryError(registry.loadArtifact('m/1'), ErrorCode.REGISTRY_ARTIFACT_MISSING, 500);
    } finally {
      await close();
    }
  });

  it('hashes while reading: same size, other bytes is a checksum mismatch', async () => {
    const store = new FsBlobStore(freshDir());
    const { registry, close } = await registryOn(store);
    try {
      await writeFile(store.locate(digest), Buffer.from(bytes).fill(0x20));
      const read = await store.read(digest, bytes.byteLength);
      expect(read.status).toBe('ok');
      expect(read.status === 'ok' && read.sha256).not.toBe(digest);
      await expectFerryError(registry.loadArtifact('m/1'), ErrorCode.REGISTRY_CHECKSUM_MISMATCH, 500);
    } finally {
      await close();
    }
  });

  it('reads a multi-slice blob back intact', async () => {
    const store = new FsBlobStore(freshDir());
    const big = new Uint8Array(9 * 1024 * 1024 + 7).map((_, i) => (i * 31) & 0xff);
    const d = await store.put(big);
    const read = await store.read(d, big.byteLength);
    expect(read.status === 'ok' && read.sha256).toBe(d);
    expect(read.status === 'ok' && Buffer.from(read.bytes).equals(Buffer.from(big))).toBe(true);
  });
});

describe('MemoryBlobStore', () => {
  it('lets tests corrupt or delete a blob', async () => {
    const store = new MemoryBlobStore();
    const digest = await store.put(new Uint8Array([1, 2, 3]));
    store.overwriteUnchecked(digest, new Uint8Array([9]));
    expect(Array.from((await store.get(digest))!)).toEqual([9]);
    expect(store.delete(digest)).toBe(true);
    expect(await store.has(digest)).toBe(false);
  });
});
