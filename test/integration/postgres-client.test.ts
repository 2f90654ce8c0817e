import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openSqlClient } from '../../src/adapters/factory.js';
import { PostgresClient } from '../../src/adapters/postgres/postgres-client.js';
import { ErrorCode } from '../../src/core/errors.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { sqlClientConformance } from '../conformance/sql-client.conformance.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { dropSchemas, freshSchema, pgClient, pgUrl } from '../helpers/postgres.js';

const schema = freshSchema();
const otherSchema = freshSchema();

afterAll(() => dropSchemas(schema, otherSchema));

sqlClientConformance('PostgreSQL', async () => pgClient(schema));

describe('PostgresClient', () => {
  const opened: SqlClient[] = [];
  const open = async (client: SqlClient) => {
    await client.init();
    opened.push(client);
    return client;
  };
  afterEach(async () => {
    for (const c of opened.splice(0)) await c.close();
  });

  it('creates its schema and keeps its tables there', async () => {
    const a = await open(pgClient(schema));
    const b = await open(pgClient(otherSchema));
    await a.execute('CREATE TABLE IF NOT EXISTS where_am_i (id INTEGER)');
    const rows = await b.query<{ table_schema: string }>(
      `SELECT table_schema FROM information_schema.tables WHERE table_name = 'where_am_i'`,
    );
    expect(rows.map((r) => r.table_schema)).toContain(schema);
    expect(rows.map((r) => r.table_schema)).not.toContain(otherSchema);
    await expectFerryError(b.query('SELECT * FROM where_am_i'), ErrorCode.DB_ERROR);
  });

  it('survives two clients creating the same schema at once', async () => {
    const name = freshSchema();
    try {
      await Promise.all([open(pgClient(name)), open(pgClient(name)), open(pgClient(name))]);
    } finally {
      await dropSchemas(name);
    }
  });

  it('takes the schema from the factory URL', async () => {
    const client = await open(openSqlClient(`${pgUrl()}?schema=${schema}`));
    expect(await client.query('SELECT current_schema() AS s')).toEqual([{ s: schema }]);
  });

  it('reports a refused connection as DB_UNAVAILABLE naming host and port, never the password', async () => {
    const client = new PostgresClient({ url: 'postgres://someone:hunter2secret@127.0.0.1:1/nowhere' });
    const error = await expectFerryError(client.init(), ErrorCode.DB_UNAVAILABLE, 503);
    expect(error.details).toMatchObject({ host: '127.0.0.1', port: 1 });
    expect(error.message).toContain('127.0.0.1:1');
    expect(JSON.stringify(error.toJSON())).not.toContain('hunter2secret');
    expect(error.message).not.toContain('hunter2secret');
    expect(error.cause).toBeDefined();
  });

  it('reports an unknown host and a missing database as DB_UNAVAILABLE', async () => {
    await expectFerryError(
      new PostgresClient({ url: 'postgres://postgres@no-such-host.invalid:5432/test' }).init(),
      ErrorCode.DB_UNAVAILABLE,
      503,
    );
    const url = new URL(pgUrl());
    url.pathname = '/ferry_no_such_database';
    await expectFerryError(new PostgresClient({ url: url.toString() }).init(), ErrorCode.DB_UNAVAILABLE, 503);
  });

  it('fails with DB_LOCKED when a lockKey stays held past lock_timeout', async () => {
    const holder = await open(pgClient(schema));
    const waiter = await open(pgClient(schema, { lockTimeoutMs: 200 }));
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const holding = holder.transaction(
      async () => {
        locked();
        await held;
      },
      { lockKey: 'contended' },
    );
    await isLocked;
    await expectFerryError(
      waiter.transaction(async () => 1, { lockKey: 'contended' }),
      ErrorCode.DB_LOCKED,
      503,
    );
    release();
    await holding;
    expect(await waiter.transaction(async () => 'free', { lockKey: 'contended' })).toBe('free');
  });

  it('returns BIGINT values as numbers', async () => {
    const client = await open(pgClient(schema));
    expect(
      await client.query('SELECT 9007199254740991::bigint AS big, COUNT(*) AS c FROM (VALUES (1), (2)) v(x)'),
    ).toEqual([{ big: Number.MAX_SAFE_INTEGER, c: 2 }]);
    const [row] = await client.query<{ huge: unknown }>('SELECT 9223372036854775807::bigint AS huge');
    expect(row!.huge).toBe(9223372036854775807n);
  });

  it('refuses nested transactions instead of deadlocking', async () => {
    const client = await open(pgClient(schema));
    await expectFerryError(
      client.transaction(() => client.transaction(async () => 1, { lockKey: 'k' }), { lockKey: 'k' }),
      ErrorCode.INTERNAL,
    );
  });
});
