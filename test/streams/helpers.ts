import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { openEventStream, openSqlClient } from '../../src/adapters/factory.js';
import { SqlOnlineStore } from '../../src/adapters/sql/sql-online-store.js';
import type { FeatureRepoDef } from '../../src/features/feature-definitions.js';
import { initOfflineStore, writeOfflineRows } from '../../src/features/offline-store.js';
import type { EventStream } from '../../src/ports/event-stream.js';
import type { SqlClient } from '../../src/ports/sql.js';
import type { PipelineDeps } from '../../src/streams/run-pipeline.js';
import { deleteJetStreams } from '../helpers/nats-server.js';

export const NATS_URL = process.env.FERRY_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** A stream name no other test (or run) uses: JetStream is shared by every test on the machine. */
export function uniqueStream(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/**
 * A repository with one stream source and three views of one entity (`user`, key `user_id`):
 * clicks per minute (tumbling window, every aggregation), a session view, and a row view (the
 * user's latest page, lower-cased). Pipeline `clicks` writes online and offline.
 */
export function clicksRepo(
  stream: string,
  opts: {
    allowedLateness?: string | number;
    maxAge?: string;
    windowTtl?: string;
    pipelineName?: string;
    views?: string[];
  } = {},
): FeatureRepoDef {
  return {
    entities: [{ name: 'user', joinKeys: ['user_id'] }],
    sources: [{ name: 'clicks_src', kind: 'stream', stream, timestampField: 'at' }],
    views: [
      {
        name: 'clicks_1m',
        entities: ['user'],
        source: 'clicks_src',
        ttl: opts.windowTtl ?? '3650d',
        schema: [
          { name: 'clicks', type: 'int64' },
          { name: 'amount_sum', type: 'float64' },
          { name: 'amount_mean', type: 'float64' },
          { name: 'amount_min', type: 'float64' },
          { name: 'amount_max', type: 'float64' },
          { name: 'last_page', type: 'string' },
          { name: 'pages', type: 'int64' },
          { name: 'top_pages', type: 'string_list' },
          { name: 'by_page', type: 'map' },
        ],
        transform: {
          kind: 'window',
          window: { type: 'tumbling', size: '1m' },
          allowedLateness: opts.allowedLateness ?? '10s',
          aggregations: [
            { name: 'clicks', fn: 'count' },
            { name: 'amount_sum', fn: 'sum', field: 'amount' },
            { name: 'amount_mean', fn: 'mean', field: 'amount' },
            { name: 'amount_min', fn: 'min', field: 'amount' },
            { name: 'amount_max', fn: 'max', field: 'amount' },
            { name: 'last_page', fn: 'last', field: 'page' },
            { name: 'pages', fn: 'distinct_count', field: 'page' },
            { name: 'top_pages', fn: 'top_k', field: 'page', k: 2 },
            { name: 'by_page', fn: 'count_by', field: 'page' },
          ],
        },
      },
      {
        name: 'sessions',
        entities: ['user'],
        source: 'clicks_src',
        ttl: opts.windowTtl ?? '3650d',
        schema: [
          { name: 'session_clicks', type: 'int64' },
          { name: 'session_amount', type: 'float64' },
        ],
        transform: {
          kind: 'window',
          window: { type: 'session', gap: '30s' },
          allowedLateness: opts.allowedLateness ?? '10s',
          aggregations: [
            { name: 'session_clicks', fn: 'count' },
            { name: 'session_amount', fn: 'sum', field: 'amount' },
          ],
        },
      },
      {
        name: 'last_click',
        entities: ['user'],
        source: 'clicks_src',
        ttl: '30d',
        schema: [
          { name: 'page', type: 'string' },
          { name: 'page_lower', type: 'string' },
        ],
        transform: { kind: 'row', features: { page_lower: { fn: 'lower', from: 'page' } } },
      },
    ],
    pipelines: [
      {
        name: opts.pipelineName ?? 'clicks',
        source: 'clicks_src',
        views: opts.views ?? ['clicks_1m', 'sessions', 'last_click'],
        sinks: [{ kind: 'online' }, { kind: 'offline' }],
        ...(opts.maxAge === undefined ? {} : { maxAge: opts.maxAge }),
      },
    ],
  };
}

export interface Click {
  id: string;
  user_id: string;
  at: number;
  amount: number | null;
  page: string;
}

const PAGES = ['home', 'Cart', 'checkout', 'search', '__proto__'];

/** `count` clicks over `users` users from `startMs`, one every `stepMs` on average, seeded. */
export function clicks(
  count: number,
  opts: { users?: number; startMs?: number; stepMs?: number; seed?: number; pauseEvery?: number } = {},
): Click[] {
  let s = opts.seed ?? 1;
  const random = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const users = opts.users ?? 20;
  let t = opts.startMs ?? 1_700_000_000_000;
  return Array.from({ length: count }, (_, i) => {
    t += Math.floor(random() * (opts.stepMs ?? 200) * 2);
    // Now and then everyone pauses longer than a session gap: sessions end and start.
    if (opts.pauseEvery !== undefined && i % opts.pauseEvery === opts.pauseEvery - 1) t += 45_000;
    return {
      id: `c-${i}`,
      user_id: `u${Math.floor(random() * users)}`,
      at: t,
      // Integers: sums are exact whatever the order they are added in.
      amount: random() < 0.1 ? null : Math.floor(random() * 100),
      page: PAGES[Math.floor(random() * PAGES.length)]!,
    };
  });
}

export interface TestEnv {
  readonly stream: EventStream;
  readonly sql: SqlClient;
  readonly online: SqlOnlineStore;
  readonly deps: PipelineDeps;
  /** A stream name of this test's own; on NATS it is deleted by close(). */
  streamName(prefix: string): string;
  close(): Promise<void>;
}

/** The transport (`sqlite` in `dir`, or the machine's NATS), the state and stores in one SQLite file. */
export async function openTestEnv(dir: string, transport: 'sqlite' | 'nats'): Promise<TestEnv> {
  const stream = openEventStream(transport === 'sqlite' ? `sqlite:${join(dir, 'streams.db')}` : NATS_URL);
  await stream.init();
  const sql = openSqlClient(`sqlite:${join(dir, 'ferry.db')}`);
  await sql.init();
  const online = new SqlOnlineStore({ sql });
  await online.init();
  await initOfflineStore(sql);
  const deps: PipelineDeps = {
    stream,
    sql,
    online,
    offline: {
      write: async (rows) => {
        await writeOfflineRows(sql, rows);
      },
    },
  };
  const names: string[] = [];
  return {
    stream,
    sql,
    online,
    deps,
    streamName: (prefix) => {
      const name = uniqueStream(prefix);
      names.push(name);
      return name;
    },
    close: async () => {
      await stream.close();
      await sql.close();
      if (transport === 'nats') await deleteJetStreams(NATS_URL, names);
    },
  };
}

/** Waits until `check` returns true (polling), or fails after `timeoutMs` with `what`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const encode = (v: unknown): Uint8Array =>
  new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
