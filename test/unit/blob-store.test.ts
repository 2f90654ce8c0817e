import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../src/adapters/fs/fs-blob-store.js';
import { MemoryBlobStore } from '../../src/adapters/memory/memory-blob-store.js';
import { ErrorCode } from '../../src/core/errors.js';
import { sha256Hex } from '../../src/core/hash.js';
import { blobStoreConformance } from '../conformance/blob-store.conformance.js';
import { expectFerryErrorSync } from '../helpers/expect-ferry-error.js';

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
