/**
 * A separate process that registers model versions, for the multi-process tests. Prints
 * "ready", waits for "go" on stdin so that several workers start at once, then registers
 * `count` versions concurrently and prints their numbers as JSON.
 * Usage: node --import tsx register-worker.ts <db path> <blob dir> <model name> <count>
 */
import { once } from 'node:events';
import { FsBlobStore } from '../../src/adapters/fs/fs-blob-store.js';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { ModelRegistry } from '../../src/registry/index.js';

const [dbPath, blobDir, name, countText] = process.argv.slice(2);
if (dbPath === undefined || blobDir === undefined || name === undefined || countText === undefined) {
  throw new Error('usage: register-worker.ts <db path> <blob dir> <model name> <count>');
}

const sql = new SqliteClient({ path: dbPath });
await sql.init();
const registry = new ModelRegistry({ sql, blobs: new FsBlobStore(blobDir) });
await registry.init();
process.stdout.write('ready\n');
await once(process.stdin, 'data');

const versions = await Promise.all(
  Array.from({ length: Number(countText) }, (_, i) =>
    registry
      .register(name, new TextEncoder().encode(`${process.pid} artifact ${i}`), {
        kind: 'test',
        params: {},
        metrics: {},
        dataset: {},
      })
      .then((v) => v.version),
  ),
);
process.stdout.write(`${JSON.stringify(versions)}\n`);
await sql.close();
process.exit(0);
