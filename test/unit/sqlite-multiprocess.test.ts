import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../src/adapters/fs/fs-blob-store.js';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { ModelRegistry } from '../../src/registry/index.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';

const projectRoot = join(import.meta.dirname, '..', '..');
const worker = join(projectRoot, 'test', 'helpers', 'register-worker.ts');

/** Collects a child's stdout and resolves when a line matching `test` appears. */
function waitForLine(child: ChildProcess, test: (line: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      buffer += d.toString();
      const line = buffer.split('\n').find(test);
      if (line !== undefined) resolve(line);
    });
    child.on('exit', (code) =>
      reject(new Error(`child exited (${code}) before the expected line: ${stderr}`)),
    );
  });
}

describe('SQLite shared by separate processes', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  const children: ChildProcess[] = [];

  beforeEach(async () => {
    tmp = await makeTmpDir('ferry-multiproc-');
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill();
    await tmp.remove();
  });

  it('gives concurrent registers from two processes distinct consecutive versions', async () => {
    const dbPath = join(tmp.path, 'ferry.db');
    const blobDir = join(tmp.path, 'blobs');
    // Create the schema first so the workers race on registering, not on creating tables.
    const sql = new SqliteClient({ path: dbPath });
    await sql.init();
    await new ModelRegistry({ sql, blobs: new FsBlobStore(blobDir) }).init();

    const spawnWorker = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', worker, dbPath, blobDir, 'shared', '6'], {
        cwd: projectRoot,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      children.push(child);
      return child;
    };
    const workers = [spawnWorker(), spawnWorker()];
    await Promise.all(workers.map((w) => waitForLine(w, (l) => l === 'ready')));
    const results = workers.map((w) => waitForLine(w, (l) => l.startsWith('[')));
    for (const w of workers) w.stdin?.write('go\n');
    const versions = (await Promise.all(results)).flatMap((line) => JSON.parse(line) as number[]);

    expect(versions.sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const listed = await new ModelRegistry({ sql, blobs: new FsBlobStore(blobDir) }).list('shared');
    expect(listed.map((v) => v.version)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    await sql.close();
  });

  it('waits for a write lock another process releases within busy_timeout', async () => {
    const dbPath = join(tmp.path, 'ferry.db');
    const client = new SqliteClient({ path: dbPath, busyTimeoutMs: 5000 });
    await client.init();
    await client.execute('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    // Holds the write lock for 400 ms in another process, then commits.
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(process.argv[1]);
         db.exec('BEGIN IMMEDIATE'); console.log('locked');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 400);
         db.exec('COMMIT'); db.close();`,
        dbPath,
      ],
      { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(holder);
    await waitForLine(holder, (l) => l === 'locked');
    const started = Date.now();
    expect(await client.execute('INSERT INTO t (id) VALUES (1)')).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    await client.close();
  });
});
