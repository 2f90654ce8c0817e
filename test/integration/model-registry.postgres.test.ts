import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../src/adapters/fs/fs-blob-store.js';
import { MemoryBlobStore } from '../../src/adapters/memory/memory-blob-store.js';
import { ModelRegistry } from '../../src/registry/index.js';
import { modelRegistryConformance } from '../conformance/model-registry.conformance.js';
import { dropSchemas, freshSchema, pgClient } from '../helpers/postgres.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';

// One schema per registry instance, so every test starts from an empty registry.
const schemas: string[] = [];
const newSchema = () => {
  const schema = freshSchema();
  schemas.push(schema);
  return schema;
};

afterAll(() => dropSchemas(...schemas));

modelRegistryConformance('PostgreSQL + FsBlobStore', async () => {
  const schema = newSchema();
  const tmp = await makeTmpDir('ferry-pg-registry-');
  const blobs = new FsBlobStore(join(tmp.path, 'blobs'));
  return {
    openSql: async () => pgClient(schema),
    blobs,
    overwriteBlob: (sha256, bytes) => writeFile(blobs.locate(sha256), bytes),
    removeBlob: (sha256) => rm(blobs.locate(sha256)),
    dispose: tmp.remove,
  };
});

describe('ModelRegistry on PostgreSQL', () => {
  it('initialises concurrently from several clients', async () => {
    const schema = newSchema();
    const clients = [pgClient(schema), pgClient(schema), pgClient(schema)];
    const blobs = new MemoryBlobStore();
    try {
      await Promise.all(
        clients.map(async (sql) => {
          await sql.init();
          await new ModelRegistry({ sql, blobs }).init();
        }),
      );
      const registry = new ModelRegistry({ sql: clients[0]!, blobs });
      const v = await registry.register('m', new Uint8Array([1, 2]), {
        kind: 'k',
        params: {},
        metrics: {},
        dataset: {},
      });
      expect(v).toMatchObject({ version: 1, artifactSize: 2 });
      expect(typeof (await registry.list())[0]!.artifactSize).toBe('number');
    } finally {
      for (const c of clients) await c.close();
    }
  });
});
