import { mkdtempSync, rmSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../src/adapters/fs/fs-blob-store.js';
import { MemoryBlobStore } from '../../src/adapters/memory/memory-blob-store.js';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { ErrorCode } from '../../src/core/errors.js';
import { sha256Hex } from '../../src/core/hash.js';
import { ModelRegistry } from '../../src/registry/index.js';
import { modelRegistryConformance } from '../conformance/model-registry.conformance.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';

const root = mkdtempSync(join(tmpdir(), 'ferry-registry-'));
let seq = 0;
const freshDir = () => join(root, `case-${++seq}`);

afterAll(() => rmSync(root, { recursive: true, force: true }));

modelRegistryConformance('SQLite file + FsBlobStore', async () => {
  const dir = freshDir();
  const blobs = new FsBlobStore(join(dir, 'blobs'));
  return {
    openSql: async () => new SqliteClient({ path: join(dir, 'ferry.db') }),
    blobs,
    overwriteBlob: (sha256, bytes) => writeFile(blobs.locate(sha256), bytes),
    removeBlob: (sha256) => rm(blobs.locate(sha256)),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});

modelRegistryConformance('SQLite file + MemoryBlobStore', async () => {
  const dir = freshDir();
  const blobs = new MemoryBlobStore();
  return {
    openSql: async () => new SqliteClient({ path: join(dir, 'ferry.db') }),
    blobs,
    overwriteBlob: async (sha256, bytes) => blobs.overwriteUnchecked(sha256, bytes),
    removeBlob: async (sha256) => {
      blobs.delete(sha256);
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('ModelRegistry on SQLite', () => {
  it('fails a register with DB_LOCKED when another process holds the write lock past busy_timeout', async () => {
    const dir = freshDir();
    const dbPath = join(dir, 'ferry.db');
    const sql = new SqliteClient({ path: dbPath, busyTimeoutMs: 200 });
    await sql.init();
    const blobs = new MemoryBlobStore();
    const registry = new ModelRegistry({ sql, blobs });
    await registry.init();
    const artifact = new TextEncoder().encode('blocked');
    const holder = new Database(dbPath);
    try {
      holder.exec('BEGIN IMMEDIATE');
      await expectFerryError(
        registry.register('m', artifact, { kind: 'k', params: {}, metrics: {}, dataset: {} }),
        ErrorCode.DB_LOCKED,
        503,
      );
      holder.exec('ROLLBACK');
    } finally {
      holder.close();
    }
    // The blob was written first; the failed transaction left no version behind.
    expect(await blobs.has(sha256Hex(artifact))).toBe(true);
    expect(await registry.list()).toEqual([]);
    const v = await registry.register('m', artifact, { kind: 'k', params: {}, metrics: {}, dataset: {} });
    expect(v.version).toBe(1);
    await sql.close();
  });

  it('works over :memory: SQLite', async () => {
    const sql = new SqliteClient({ path: ':memory:' });
    await sql.init();
    const registry = new ModelRegistry({ sql, blobs: new MemoryBlobStore() });
    await registry.init();
    await registry.register('m', new Uint8Array([1]), { kind: 'k', params: {}, metrics: {}, dataset: {} });
    await registry.setAlias('m', 'production', 1);
    expect((await registry.loadArtifact('m')).bytes).toEqual(new Uint8Array([1]));
    await sql.close();
  });
});
