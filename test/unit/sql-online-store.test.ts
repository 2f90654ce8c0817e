import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openOnlineStore, openSqlClient } from '../../src/adapters/factory.js';
import { RedisOnlineStore } from '../../src/adapters/redis/redis-online-store.js';
import { ONLINE_STORE_MIGRATIONS, SqlOnlineStore } from '../../src/adapters/sql/sql-online-store.js';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { ErrorCode } from '../../src/core/errors.js';
import { schemaStatus } from '../../src/core/migrations.js';
import { onlineFeatureStoreConformance } from '../conformance/online-feature-store.conformance.js';
import { expectFerryError, expectFerryErrorSync } from '../helpers/expect-ferry-error.js';

const root = mkdtempSync(join(tmpdir(), 'ferry-online-store-'));
let seq = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

onlineFeatureStoreConformance('SQLite file', async () => {
  const dir = join(root, `case-${++seq}`);
  const file = join(dir, 'online.db');
  const store = new SqlOnlineStore({ sql: new SqliteClient({ path: file }), ownsClient: true });
  return {
    store,
    another: async () => new SqlOnlineStore({ sql: new SqliteClient({ path: file }), ownsClient: true }),
    dispose: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('SqlOnlineStore on SQLite', () => {
  it('records its migrations under its own store name, beside a shared client', async () => {
    const sql = new SqliteClient({ path: ':memory:' });
    await sql.init();
    try {
      const store = new SqlOnlineStore({ sql, clock: () => 1234 });
      await store.init();
      await store.init();
      expect(await schemaStatus(sql, [ONLINE_STORE_MIGRATIONS])).toEqual([
        { store: 'online-features', current: 1, latest: 1, pending: [] },
      ]);
      await store.writeMany([{ view: 'v', entityKey: 'e', eventTimeMs: 5, values: { a: 1 } }]);
      const rows = await sql.query(
        'SELECT view, entity_key, event_time_ms, values_json, written_at_ms FROM ferry_online_features',
      );
      expect(rows).toEqual([
        { view: 'v', entity_key: 'e', event_time_ms: 5, values_json: '{"a":1}', written_at_ms: 1234 },
      ]);
      // A shared client stays open when the store closes.
      await store.close();
      expect(await sql.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await sql.close();
    }
  });

  it('reports stored values that are not JSON as DB_ERROR', async () => {
    const sql = new SqliteClient({ path: ':memory:' });
    await sql.init();
    try {
      const store = new SqlOnlineStore({ sql });
      await store.init();
      await sql.execute(
        `INSERT INTO ferry_online_features (view, entity_key, event_time_ms, values_json, written_at_ms) VALUES ('v', 'e', 1, '{not json', 1)`,
      );
      await expectFerryError(store.readMany('v', ['e']), ErrorCode.DB_ERROR, 500);
    } finally {
      await sql.close();
    }
  });

  it('refuses a call timeout that is not a positive number', () => {
    const sql = new SqliteClient({ path: ':memory:' });
    for (const callTimeoutMs of [0, -1, Number.NaN]) {
      expectFerryErrorSync(() => new SqlOnlineStore({ sql, callTimeoutMs }), ErrorCode.CONFIG_INVALID);
    }
  });

  it('reports a database it cannot open as FEATURES_UNAVAILABLE', async () => {
    // A directory where the file should be: SQLite cannot open it.
    const store = openOnlineStore(`sqlite:${root}`);
    await expectFerryError(store.init(), ErrorCode.FEATURES_UNAVAILABLE, 503);
    await store.close();
  });
});

describe('openOnlineStore', () => {
  it('picks the adapter from the URL without I/O', () => {
    expect(openOnlineStore('sqlite::memory:')).toBeInstanceOf(SqlOnlineStore);
    expect(openOnlineStore(`sqlite:${join(root, 'x.db')}`)).toBeInstanceOf(SqlOnlineStore);
    expect(openOnlineStore('postgres://u@127.0.0.1:1/db?schema=abc')).toBeInstanceOf(SqlOnlineStore);
    expect(openOnlineStore('postgresql://u@127.0.0.1:1/db')).toBeInstanceOf(SqlOnlineStore);
    expect(openOnlineStore('redis://127.0.0.1:1')).toBeInstanceOf(RedisOnlineStore);
    expect(openOnlineStore(' rediss://127.0.0.1:1 ')).toBeInstanceOf(RedisOnlineStore);
  });

  it('refuses other URLs with CONFIG_INVALID, without echoing a password', () => {
    for (const url of ['', 'memory:', 'http://x', 'plain/path', 'mysql://u:hunter2@h/db']) {
      const error = expectFerryErrorSync(() => openOnlineStore(url), ErrorCode.CONFIG_INVALID);
      expect(error.message).not.toContain('hunter2');
    }
    expectFerryErrorSync(() => openOnlineStore('redis://x', { prefix: '' }), ErrorCode.CONFIG_INVALID);
  });

  it('works end to end on a SQLite file it opens and closes itself', async () => {
    const url = `sqlite:${join(root, 'factory', 'online.db')}`;
    const store = openOnlineStore(url);
    await store.init();
    expect(
      await store.writeMany([{ view: 'v', entityKey: 'e', eventTimeMs: 1, values: { a: [1, 2] } }]),
    ).toBe(1);
    await store.close();
    const again = openOnlineStore(url);
    await again.init();
    try {
      expect((await again.readMany('v', ['e']))[0]?.values).toEqual({ a: [1, 2] });
    } finally {
      await again.close();
    }
    // The client opened through openSqlClient sees the same table.
    const sql = openSqlClient(url);
    await sql.init();
    try {
      expect(await sql.query('SELECT COUNT(*) AS n FROM ferry_online_features')).toEqual([{ n: 1 }]);
    } finally {
      await sql.close();
    }
  });
});
