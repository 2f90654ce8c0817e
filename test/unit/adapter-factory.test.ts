import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openBlobStore, openEventStream, openSqlClient } from '../../src/adapters/factory.js';
import { FsBlobStore } from '../../src/adapters/fs/fs-blob-store.js';
import { MemoryBlobStore } from '../../src/adapters/memory/memory-blob-store.js';
import { JetStreamEventStream } from '../../src/adapters/nats/jetstream-event-stream.js';
import { PostgresClient } from '../../src/adapters/postgres/postgres-client.js';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite-event-log.js';
import { ErrorCode } from '../../src/core/errors.js';
import { expectFerryErrorSync } from '../helpers/expect-ferry-error.js';

describe('openSqlClient', () => {
  it.each([
    ['sqlite:./.ferry/ferry.db', './.ferry/ferry.db'],
    ['sqlite:///var/lib/ferry.db', '/var/lib/ferry.db'],
    ['sqlite::memory:', ':memory:'],
    [':memory:', ':memory:'],
    ['./data/ferry.db', './data/ferry.db'],
    ['/abs/ferry.db', '/abs/ferry.db'],
    ['ferry.db', 'ferry.db'],
  ])('opens %s with SQLite at %s', (url, path) => {
    const client = openSqlClient(url);
    expect(client).toBeInstanceOf(SqliteClient);
    expect((client as SqliteClient).path).toBe(path);
  });

  it('passes the busy timeout to SQLite', () => {
    expect((openSqlClient('sqlite::memory:', { busyTimeoutMs: 250 }) as SqliteClient).busyTimeoutMs).toBe(
      250,
    );
  });

  it('opens postgres:// and postgresql:// with PostgreSQL, taking the schema from the URL or the options', () => {
    const a = openSqlClient('postgres://u:p@db.example:5433/ferry?schema=tenant_a');
    expect(a).toBeInstanceOf(PostgresClient);
    expect((a as PostgresClient).schema).toBe('tenant_a');
    const b = openSqlClient('postgresql://db.example/ferry?schema=tenant_a', { schema: 'tenant_b' });
    expect((b as PostgresClient).schema).toBe('tenant_b');
    expect((openSqlClient('postgres://db.example/ferry') as PostgresClient).schema).toBeUndefined();
    expect(openSqlClient('postgres://db.example/ferry').dialect).toBe('postgres');
  });

  it('rejects other schemes, empty URLs and bad schema names with CONFIG_INVALID', () => {
    for (const url of ['mysql://db/x', 'redis://localhost', '', '   ', 'sqlite:', 'http://x']) {
      expectFerryErrorSync(() => openSqlClient(url), ErrorCode.CONFIG_INVALID);
    }
    expectFerryErrorSync(() => openSqlClient('postgres://db/x?schema=Bad-Name'), ErrorCode.CONFIG_INVALID);
  });
});

describe('openBlobStore', () => {
  it('opens file: URLs and plain directories as FsBlobStore, memory: as MemoryBlobStore', () => {
    const rel = openBlobStore('file:./.ferry/blobs');
    expect(rel).toBeInstanceOf(FsBlobStore);
    expect((rel as FsBlobStore).root).toBe(join(process.cwd(), '.ferry/blobs'));
    expect((openBlobStore('file:///srv/blobs') as FsBlobStore).root).toBe('/srv/blobs');
    expect((openBlobStore('/srv/blobs') as FsBlobStore).root).toBe('/srv/blobs');
    expect(openBlobStore('memory:')).toBeInstanceOf(MemoryBlobStore);
  });

  it('rejects other schemes with CONFIG_INVALID', () => {
    for (const url of ['s3://bucket', '', 'file:']) {
      expectFerryErrorSync(() => openBlobStore(url), ErrorCode.CONFIG_INVALID);
    }
  });
});

describe('openEventStream', () => {
  it.each([
    ['sqlite:./.ferry/streams.db', './.ferry/streams.db'],
    ['sqlite:///var/lib/streams.db', '/var/lib/streams.db'],
    ['sqlite::memory:', ':memory:'],
  ])('opens %s as the embedded log at %s', (url, path) => {
    const stream = openEventStream(url);
    expect(stream).toBeInstanceOf(SqliteEventLog);
    expect((stream as SqliteEventLog).path).toBe(path);
  });

  it('opens nats:// as JetStream, without connecting', () => {
    expect(openEventStream('nats://127.0.0.1:1')).toBeInstanceOf(JetStreamEventStream);
  });

  it.each([
    ['', 'empty'],
    ['sqlite:', 'needs a path'],
    ['kafka://broker:9092', 'unsupported stream URL scheme "kafka:"'],
    ['./streams.db', 'needs a scheme'],
  ])('refuses %j', (url, message) => {
    const error = expectFerryErrorSync(() => openEventStream(url), ErrorCode.CONFIG_INVALID);
    expect(error.message).toContain(message);
  });

  it('never echoes a NATS password', () => {
    const error = expectFerryErrorSync(
      () => openEventStream('nats://u:s3cret@[bad'),
      ErrorCode.CONFIG_INVALID,
    );
    expect(error.message).not.toContain('s3cret');
  });
});
