import { afterAll, describe, expect, it } from 'vitest';
import { openOnlineStore } from '../../src/adapters/factory.js';
import { SqlOnlineStore } from '../../src/adapters/sql/sql-online-store.js';
import { ErrorCode } from '../../src/core/errors.js';
import { onlineFeatureStoreConformance } from '../conformance/online-feature-store.conformance.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { freezableProxy } from '../helpers/freezable-proxy.js';
import { dropSchemas, freshSchema, pgClient, pgUrl } from '../helpers/postgres.js';

// One schema per test, so every test starts from an empty store; the server being down fails, not skips.
const schemas: string[] = [];
afterAll(() => dropSchemas(...schemas));

onlineFeatureStoreConformance('PostgreSQL', async () => {
  const schema = freshSchema();
  schemas.push(schema);
  const store = new SqlOnlineStore({ sql: pgClient(schema), ownsClient: true });
  return {
    store,
    another: async () => new SqlOnlineStore({ sql: pgClient(schema), ownsClient: true }),
    dispose: () => store.close(),
  };
});

describe('SqlOnlineStore on PostgreSQL', () => {
  it('initialises concurrently from several stores and is what the factory opens', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const stores = [0, 1, 2].map(() => openOnlineStore(pgUrl(), { schema }));
    try {
      await Promise.all(stores.map((s) => s.init()));
      expect(stores[0]).toBeInstanceOf(SqlOnlineStore);
      await stores[1]!.writeMany([{ view: 'v', entityKey: 'e', eventTimeMs: 2 ** 52, values: { a: 1 } }]);
      expect((await stores[2]!.readMany('v', ['e']))[0]).toMatchObject({
        eventTimeMs: 2 ** 52,
        values: { a: 1 },
      });
    } finally {
      for (const s of stores) await s.close();
    }
  });

  it('reports an unreachable server as FEATURES_UNAVAILABLE, quickly', async () => {
    const store = openOnlineStore('postgres://postgres:hunter2@127.0.0.1:1/test');
    const started = Date.now();
    const error = await expectFerryError(store.init(), ErrorCode.FEATURES_UNAVAILABLE, 503);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.message).not.toContain('hunter2');
    await store.close();
  });

  it('bounds a call to a server that stops answering, through the factory', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const proxy = await freezableProxy(pgUrl());
    const url = new URL(pgUrl());
    url.host = new URL(proxy.url).host;
    const store = openOnlineStore(url.toString(), { schema, commandTimeoutMs: 300 });
    try {
      await store.init();
      await store.writeMany([{ view: 'v', entityKey: 'e', eventTimeMs: 1, values: {} }]);
      proxy.freeze();
      for (const call of [
        () => store.readMany('v', ['e']),
        () => store.writeMany([{ view: 'v', entityKey: 'e', eventTimeMs: 2, values: {} }]),
      ]) {
        const started = Date.now();
        await expectFerryError(call(), ErrorCode.FEATURES_UNAVAILABLE, 503);
        expect(Date.now() - started).toBeLessThan(1500);
      }
    } finally {
      await proxy.close(); // first: the pool waits for the connections of the abandoned statements
      await store.close();
    }
  });
});
