import { randomUUID } from 'node:crypto';
import { PostgresClient, type PostgresClientOptions } from '../../src/adapters/postgres/postgres-client.js';

/** The test server; trust auth on 127.0.0.1 by default. */
export function pgUrl(): string {
  return process.env.FERRY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

/** A random schema name no other test uses; the schema itself is created by the client's init(). */
export function freshSchema(): string {
  return `ferry_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
}

/** A client on `schema` of the test server, not yet initialised. */
export function pgClient(schema: string, opts: Partial<PostgresClientOptions> = {}): PostgresClient {
  return new PostgresClient({ url: pgUrl(), schema, ...opts });
}

/** Drops test schemas with everything in them. Throws when the server is unreachable, so tests fail, not skip. */
export async function dropSchemas(...schemas: string[]): Promise<void> {
  const admin = new PostgresClient({ url: pgUrl() });
  await admin.init();
  try {
    for (const schema of schemas) await admin.execute(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await admin.close();
  }
}
