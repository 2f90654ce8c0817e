import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlOnlineStore } from '../../src/adapters/sql/sql-online-store.js';
import { featureSourceOpener } from '../../src/app/feature-sources.js';
import { openFerry } from '../../src/app/open-ferry.js';
import { openPipelineContext } from '../../src/app/open-streams.js';
import { FeatureRepoStore } from '../../src/features/feature-repo-store.js';
import { loadDefinitions } from '../../src/features/load-definitions.js';
import { materialize } from '../../src/features/materialize.js';
import { repoObjects } from '../../src/features/repo-objects.js';
import { planPipeline } from '../../src/streams/pipeline-plan.js';
import { runPipeline } from '../../src/streams/run-pipeline.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';
import { waitFor } from './helpers.js';

/**
 * GET /v1/features/status and GET /v1/streams/status on a real server: nothing applied (the clear
 * codes), then a materialized batch view (fresh and stale against their TTLs) and a stream read by
 * a running pipeline, with a dead letter: freshness, lag, dead letters with their reasons, access.
 */
const FEATURES_TOKEN = 'features-token-0123456789';
const STREAMS_TOKEN = 'streams-token-0123456789';
const NOW = Date.now();
const HOUR = 3_600_000;
const XSS = '<img src=x onerror=alert(1)>';

const DEFINITIONS = {
  entities: [{ name: 'user', joinKeys: ['user_id'] }],
  sources: [
    { name: 'profiles', kind: 'file', path: 'profiles.csv', timestampField: 'updated_at' },
    { name: 'clicks_src', kind: 'stream', stream: 'clicks', timestampField: 'at' },
  ],
  views: [
    {
      name: 'user_profile',
      entities: ['user'],
      source: 'profiles',
      ttl: '30d',
      schema: [{ name: 'country', type: 'string' }],
      transform: { kind: 'row' },
    },
    {
      name: 'user_profile_short',
      entities: ['user'],
      source: 'profiles',
      ttl: '1h',
      schema: [{ name: 'country', type: 'string' }],
      transform: { kind: 'row' },
    },
    {
      name: 'last_click',
      entities: ['user'],
      source: 'clicks_src',
      ttl: '1d',
      schema: [
        { name: 'page', type: 'string' },
        { name: 'amount', type: 'float64' },
      ],
      transform: { kind: 'row' },
    },
  ],
  pipelines: [{ name: 'clicks', source: 'clicks_src', views: ['last_click'], sinks: [{ kind: 'online' }] }],
};

let reg: TestRegistry;
let server: TestServer;

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read field by field
type Json = any;

async function get(
  path: string,
  token: string | null = ADMIN_TOKEN,
): Promise<{ status: number; body: Json; text: string }> {
  const r = await server.app.inject({
    method: 'GET',
    url: path,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: r.statusCode, body: r.json(), text: r.body };
}

beforeAll(async () => {
  reg = await createTestRegistry({ versions: [{ seed: 42 }] });
  server = await startTestServer({
    registry: reg,
    adminToken: ADMIN_TOKEN,
    listen: false,
    config: { featuresToken: FEATURES_TOKEN, streamsToken: STREAMS_TOKEN },
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await reg?.close();
});

describe('feature and stream status', () => {
  it('answers a clear code while nothing is applied and no stream exists', async () => {
    const f = await get('/v1/features/status');
    expect(f.status).toBe(404);
    expect(f.body.error.code).toBe('FERRY_FEATURES_NOT_APPLIED');
    expect(f.body.error.message).toContain('ferry features apply');
    const s = await get('/v1/streams/status');
    expect(s.status).toBe(404);
    expect(s.body.error.code).toBe('FERRY_STREAM_NONE');
  });

  it('needs the features, streams or admin token', async () => {
    for (const path of ['/v1/features/status', '/v1/streams/status']) {
      for (const token of [null, 'wrong-token-0123456789']) {
        const r = await get(path, token);
        expect(r.status, `${path} ${token}`).toBe(401);
        expect(r.body.error.code).toBe('FERRY_HTTP_UNAUTHORIZED');
      }
      for (const token of [FEATURES_TOKEN, STREAMS_TOKEN, ADMIN_TOKEN]) {
        expect((await get(path, token)).status, `${path} ${token}`).toBe(404); // past the token: nothing yet
      }
    }
  });

  it('refuses malformed query parameters', async () => {
    for (const q of [
      'dead_letters=51',
      'dead_letters=-1',
      'dead_letters=abc',
      'payload_chars=0',
      'payload_chars=4001',
      'other=1',
    ]) {
      const r = await get(`/v1/streams/status?${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code, q).toMatch(/^FERRY_/);
    }
  });

  it('shows freshness against the TTL, lag and dead letters once materialized and streamed', async () => {
    const csv = [
      'user_id,updated_at,country',
      `u1,${new Date(NOW - 3 * HOUR).toISOString()},FR`,
      `u2,${new Date(NOW - 2 * HOUR).toISOString()},DE`,
    ];
    writeFileSync(join(reg.home, 'profiles.csv'), `${csv.join('\n')}\n`);
    const file = join(reg.home, 'features.json');
    writeFileSync(file, JSON.stringify(DEFINITIONS, null, 2));
    const ferry = await openFerry(reg.config);
    try {
      const repoStore = new FeatureRepoStore({ sql: ferry.sql });
      await repoStore.init();
      const loaded = await loadDefinitions(file);
      await repoStore.apply(repoObjects(loaded.repo), { file });
      const online = new SqlOnlineStore({ sql: ferry.sql });
      await online.init();
      const summary = await materialize(
        {
          sql: ferry.sql,
          online: async () => online,
          loaded,
          applied: await repoStore.appliedRepo(),
          openSource: featureSourceOpener(ferry.sql, reg.config.db),
        },
        { views: ['user_profile', 'user_profile_short'] },
      );
      expect(summary.views.map((v) => v.rows)).toEqual([2, 2]);
    } finally {
      await ferry.close();
    }

    // The server re-reads the applied definitions within a second.
    let features!: Awaited<ReturnType<typeof get>>;
    await waitFor(async () => {
      features = await get('/v1/features/status', FEATURES_TOKEN);
      return features.status === 200;
    }, 'the applied definitions');
    const byName = Object.fromEntries(
      // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read field by field
      (features.body.views as any[]).map((v) => [v.name, v]),
    );
    const profile = byName.user_profile;
    expect(profile).toMatchObject({
      entities: ['user'],
      source: { name: 'profiles', kind: 'file' },
      transform: 'row',
      online: true,
      ttl_seconds: 30 * 86_400,
      features: 1,
      last_event_time: new Date(NOW - 2 * HOUR).toISOString(),
      stale: false,
      last_materialization: { mode: 'full', status: 'done', rows: 2, bad: 0 },
      pipelines: [],
    });
    expect(profile.freshness_seconds).toBeGreaterThanOrEqual(2 * 3600);
    expect(profile.freshness_seconds).toBeLessThan(2 * 3600 + 120);
    // Same rows, a TTL of an hour: two hours old is stale.
    expect(byName.user_profile_short).toMatchObject({ ttl_seconds: 3600, stale: true });
    // The stream view: nothing processed yet.
    expect(byName.last_click).toMatchObject({
      source: { name: 'clicks_src', kind: 'stream' },
      last_event_time: null,
      freshness_seconds: null,
      stale: false,
      last_materialization: null,
      pipelines: ['clicks'],
    });

    // Before any event: the stream a source reads is listed, not yet created; the pipeline has
    // not run.
    const before = await get('/v1/streams/status', STREAMS_TOKEN);
    expect(before.status).toBe(200);
    expect(before.body.streams).toEqual([
      expect.objectContaining({ name: 'clicks', exists: false, sources: ['clicks_src'], events: 0 }),
    ]);
    expect(before.body.streams[0].readers).toEqual([
      expect.objectContaining({ name: 'clicks', consumer: false, lag_events: 0 }),
    ]);

    const events = [
      { id: 'e1', user_id: 'u1', at: NOW - 50 * 60_000, page: 'home', amount: 1 },
      { id: 'e2', user_id: 'u2', at: NOW - 40 * 60_000, page: 'cart', amount: 2.5 },
      { id: 'e3', user_id: 'u1', at: NOW - 30 * 60_000, page: XSS, amount: 'lots' },
    ];
    const published = await server.app.inject({
      method: 'POST',
      url: '/v1/streams/clicks/events',
      headers: { authorization: `Bearer ${STREAMS_TOKEN}` },
      payload: { events },
    });
    expect(published.statusCode, published.body).toBe(202);

    const waiting = await get('/v1/streams/status');
    expect(waiting.body.streams[0]).toMatchObject({
      name: 'clicks',
      exists: true,
      events: 3,
      dead_letters: 0,
    });
    expect(waiting.body.streams[0].readers[0]).toMatchObject({
      name: 'clicks',
      consumer: false,
      lag_events: 3,
    });

    const plan = planPipeline(loaded(DEFINITIONS), 'clicks');
    const quiet = { info: () => {}, warn: () => {}, error: () => {} };
    const ctx = await openPipelineContext(reg.config, plan, quiet, {});
    const handle = await runPipeline(plan, ctx.deps, { fetchWaitMs: 50, heartbeatMs: 100 });
    let streams!: Awaited<ReturnType<typeof get>>;
    try {
      await waitFor(async () => {
        streams = await get('/v1/streams/status?dead_letters=3&payload_chars=20');
        const s = streams.body.streams?.[0];
        return (
          s?.dead_letters === 1 && s.readers[0]?.lag_events === 0 && s.readers[0]?.pipeline?.processed === 2
        );
      }, 'the pipeline to catch up');
    } finally {
      await handle.stop();
      await handle.done;
      await ctx.close();
    }
    const stream = streams.body.streams[0];
    expect(stream).toMatchObject({ name: 'clicks', exists: true, partitions: 4, events: 3, dead_letters: 1 });
    expect(stream.readers[0]).toMatchObject({
      name: 'clicks',
      consumer: true,
      lag_events: 0,
      in_flight: 0,
      pipeline: {
        last_event_time: new Date(NOW - 40 * 60_000).toISOString(),
        lag_seconds: 0,
        processed: 2,
        dead_lettered: 1,
      },
    });
    expect(stream.readers[0].pipeline.instances.length).toBe(1);
    const [dead] = stream.recent_dead_letters;
    expect(dead).toMatchObject({ id: 'e3', key: 'u1', consumer: 'clicks', payload_truncated: true });
    expect(dead.reason).toMatch(/amount: "lots" is not a float64/);
    expect(dead.payload).toHaveLength(20);
    expect(dead.payload_bytes).toBe(new TextEncoder().encode(JSON.stringify(events[2])).byteLength);
    const whole = await get('/v1/streams/status');
    expect(whole.body.streams[0].recent_dead_letters[0].payload).toContain(XSS);
    expect(whole.body.streams[0].recent_dead_letters[0].payload_truncated).toBe(false);
    const none = await get('/v1/streams/status?dead_letters=0');
    expect(none.body.streams[0].recent_dead_letters).toEqual([]);

    // The stream view's freshness now comes from the pipeline.
    const after = await get('/v1/features/status');
    // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read field by field
    const click = (after.body.views as any[]).find((v) => v.name === 'last_click');
    expect(click.last_event_time).toBe(new Date(NOW - 40 * 60_000).toISOString());
    expect(click.stale).toBe(false);

    // Nothing internal: no path of the registry or of a source, no host name.
    for (const text of [after.text, whole.text]) {
      expect(text).not.toContain(reg.home);
      expect(text).not.toContain('profiles.csv');
      expect(text).not.toContain(hostname());
    }
  }, 120_000);
});

describe('a server with no token set', () => {
  it('refuses both routes, saying which tokens open them', async () => {
    const closed = await startTestServer({ registry: reg, listen: false });
    try {
      for (const url of ['/v1/features/status', '/v1/streams/status']) {
        const r = await closed.app.inject({ method: 'GET', url });
        expect(r.statusCode).toBe(401);
        expect(r.headers['www-authenticate']).toBe('Bearer');
        expect(r.json().error.message).toMatch(
          /FERRY_FEATURES_TOKEN, FERRY_STREAMS_TOKEN or FERRY_ADMIN_TOKEN/,
        );
      }
    } finally {
      await closed.close();
    }
  }, 60_000);
});

describe('a stream transport that does not answer', () => {
  it('answers 503 FERRY_STREAM_UNAVAILABLE without the address, and the features status still works', async () => {
    const down = await startTestServer({
      registry: reg,
      adminToken: ADMIN_TOKEN,
      listen: false,
      config: { streamUrl: 'nats://127.0.0.1:1' },
    });
    try {
      const r = await down.app.inject({
        method: 'GET',
        url: '/v1/streams/status',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(r.statusCode, r.body).toBe(503);
      expect(r.json().error.code).toBe('FERRY_STREAM_UNAVAILABLE');
      expect(r.json().error.details).toEqual({});
      expect(r.body).not.toContain('127.0.0.1');
      expect(r.body).not.toMatch(/nats/i);
      const f = await down.app.inject({
        method: 'GET',
        url: '/v1/features/status',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(f.statusCode).toBe(200);
    } finally {
      await down.close();
    }
  }, 60_000);
});

function loaded(repo: unknown) {
  return repo as Parameters<typeof planPipeline>[0];
}
