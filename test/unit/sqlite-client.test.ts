import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { ErrorCode } from '../../src/core/errors.js';
import { sqlClientConformance } from '../conformance/sql-client.conformance.js';
import { expectFerryError, expectFerryErrorSync } from '../helpers/expect-ferry-error.js';

const root = mkdtempSync(join(tmpdir(), 'ferry-sqlite-'));
let seq = 0;
const freshPath = () => join(root, `case-${++seq}`, 'nested', 'ferry.db');

afterAll(() => rmSync(root, { recursive: true, force: true }));

sqlClientConformance('SQLite :memory:', async () => new SqliteClient({ path: ':memory:' }));
sqlClientConformance('SQLite file', async () => new SqliteClient({ path: freshPath() }));

describe('SqliteClient', () => {
  const opened: SqliteClient[] = [];
  const open = async (path: string, busyTimeoutMs?: number) => {
    const client = new SqliteClient({ path, busyTimeoutMs });
    await client.init();
    opened.push(client);
    return client;
  };
  afterEach(async () => {
    for (const c of opened.splice(0)) await c.close();
  });

  it('does no I/O in the constructor and creates parent directories in init()', async () => {
    const path = freshPath();
    const client = new SqliteClient({ path });
    expect(existsSync(join(path, '..'))).toBe(false);
    await expectFerryError(client.query('SELECT 1'), ErrorCode.DB_UNAVAILABLE, 503);
    await client.init();
    opened.push(client);
    expect(existsSync(path)).toBe(true);
  });

  it('turns on WAL, foreign keys and the busy timeout', async () => {
    const client = await open(freshPath(), 1234);
    expect(await client.query('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
    expect(await client.query('PRAGMA foreign_keys')).toEqual([{ foreign_keys: 1 }]);
    expect(await client.query('PRAGMA busy_timeout')).toEqual([{ timeout: 1234 }]);
    await client.execute('CREATE TABLE parent (id INTEGER PRIMARY KEY)');
    await client.execute('CREATE TABLE child (pid INTEGER REFERENCES parent (id))');
    await expectFerryError(client.execute('INSERT INTO child (pid) VALUES (1)'), ErrorCode.DB_ERROR);
  });

  it('rejects a bad busy timeout as CONFIG_INVALID', () => {
    expectFerryErrorSync(
      () => new SqliteClient({ path: ':memory:', busyTimeoutMs: -1 }),
      ErrorCode.CONFIG_INVALID,
    );
  });

  it('reports an unopenable path or a non-database file as DB_UNAVAILABLE', async () => {
    const file = join(root, `plain-${++seq}.txt`);
    writeFileSync(file, 'not a directory');
    await expectFerryError(
      new SqliteClient({ path: join(file, 'x.db') }).init(),
      ErrorCode.DB_UNAVAILABLE,
      503,
    );
    const garbage = join(root, `garbage-${++seq}.db`);
    writeFileSync(garbage, 'this is not an SQLite database, just text that is long enough to have a header');
    await expectFerryError(new SqliteClient({ path: garbage }).init(), ErrorCode.DB_UNAVAILABLE, 503);
  });

  it('fails with DB_LOCKED after busy_timeout when another connection holds the write lock', async () => {
    const path = freshPath();
    const client = await open(path, 200);
    await client.execute('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    const holder = new Database(path);
    try {
      holder.exec('BEGIN IMMEDIATE');
      const started = Date.now();
      await expectFerryError(client.execute('INSERT INTO t (id) VALUES (1)'), ErrorCode.DB_LOCKED, 503);
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      await expectFerryError(
        client.transaction((tx) => tx.execute('INSERT INTO t (id) VALUES (2)')),
        ErrorCode.DB_LOCKED,
        503,
      );
      // Readers are not blocked by a writer in WAL mode.
      expect(await client.query('SELECT COUNT(*) AS c FROM t')).toEqual([{ c: 0 }]);
      holder.exec('COMMIT');
    } finally {
      holder.close();
    }
    await client.transaction((tx) => tx.execute('INSERT INTO t (id) VALUES (3)'));
    expect(await client.query('SELECT id FROM t')).toEqual([{ id: 3 }]);
  });

  it('serialises transactions of two clients on the same file in one process', async () => {
    const path = freshPath();
    const a = await open(path);
    const b = await open(path);
    await a.execute('CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)');
    await a.execute('INSERT INTO counter (id, n) VALUES (1, 0)');
    const increment = (client: SqliteClient) =>
      client.transaction(
        async (tx) => {
          const [row] = await tx.query<{ n: number }>('SELECT n FROM counter WHERE id = 1');
          await sleep(2);
          await tx.execute('UPDATE counter SET n = $1 WHERE id = 1', [row!.n + 1]);
        },
        { lockKey: 'counter' },
      );
    await Promise.all(Array.from({ length: 12 }, (_, i) => increment(i % 2 === 0 ? a : b)));
    expect(await b.query('SELECT n FROM counter')).toEqual([{ n: 12 }]);
  });

  it('refuses nested transactions instead of deadlocking', async () => {
    const client = await open(':memory:');
    await expectFerryError(
      client.transaction(() => client.transaction(async () => 1)),
      ErrorCode.INTERNAL,
    );
  });

  it('lets plain queries made inside a transaction join it', async () => {
    const client = await open(':memory:');
    await client.execute('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    const seen = await client.transaction(async (tx) => {
      await tx.execute('INSERT INTO t (id) VALUES (1)');
      return client.query('SELECT id FROM t');
    });
    expect(seen).toEqual([{ id: 1 }]);
  });

  it('binds Uint8Array and bigint values', async () => {
    const client = await open(':memory:');
    await client.execute('CREATE TABLE b (id INTEGER PRIMARY KEY, data BLOB, big INTEGER)');
    await client.execute('INSERT INTO b (id, data, big) VALUES ($1, $2, $3)', [
      1,
      new Uint8Array([1, 2, 3]),
      2n ** 40n,
    ]);
    const [row] = await client.query<{ data: Uint8Array; big: number }>('SELECT data, big FROM b');
    expect(Array.from(row!.data)).toEqual([1, 2, 3]);
    expect(row!.big).toBe(2 ** 40);
  });
});
