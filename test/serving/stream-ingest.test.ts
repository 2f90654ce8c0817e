import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEventStream } from '../../src/adapters/factory.js';
import { openFerry } from '../../src/app/open-ferry.js';
import { defaultStreamUrl } from '../../src/app/serving-features.js';
import { FeatureRepoStore } from '../../src/features/feature-repo-store.js';
import { loadDefinitions } from '../../src/features/load-definitions.js';
import { repoObjects } from '../../src/features/repo-objects.js';
import { partitionOf } from '../../src/ports/event-stream.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';

/** POST /v1/streams/{stream}/events: access, edge checks (all or nothing), dedupe, what lands in the log. */
const STREAMS_TOKEN = 'streams-token-0123456789';

const DEFINITIONS = {
  entities: [{ name: 'project', joinKeys: ['project_id'] }],
  sources: [{ name: 'created', kind: 'stream', stream: 'project-created', timestampField: 'created_on' }],
  views: [
    {
      name: 'project_text',
      entities: ['project'],
      source: 'created',
      ttl: '30d',
      schema: [{ name: 'title', type: 'string' }],
      transform: { kind: 'row', features: { title: { from: 'title' } } },
    },
  ],
};

let reg: TestRegistry;
let server: TestServer;

function publish(stream: string, body: unknown, token = STREAMS_TOKEN) {
  return fetch(`${server.url}/v1/streams/${stream}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read field by field
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, any> }));
}

const event = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  project_id: `p${id}`,
  created_on: '2026-12-01T10:00:00Z',
  title: `Project ${id}`,
  ...extra,
});

beforeAll(async () => {
  reg = await createTestRegistry({ versions: [{ seed: 42 }] });
  const file = join(reg.home, 'features.json');
  writeFileSync(file, JSON.stringify(DEFINITIONS));
  const ferry = await openFerry(reg.config);
  try {
    const store = new FeatureRepoStore({ sql: ferry.sql });
    await store.init();
    await store.apply(repoObjects((await loadDefinitions(file)).repo), { file });
  } finally {
    await ferry.close();
  }
  server = await startTestServer({
    registry: reg,
    adminToken: ADMIN_TOKEN,
    config: { streamsToken: STREAMS_TOKEN, maxEventBytes: 2048 },
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await reg?.close();
});

describe('POST /v1/streams/{stream}/events', () => {
  it('needs the streams or admin token', async () => {
    const anonymous = await publish('project-created', { events: [event('1')] }, '');
    expect(anonymous.status).toBe(401);
    expect(
      (await publish('project-created', { events: [event('1')] }, 'wrong-token-0123456789')).status,
    ).toBe(401);
  });

  it('stores events once by id, keyed by the join key, and says which were duplicates', async () => {
    const first = await publish('project-created', { events: [event('1'), event('2')] });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ accepted: 2, duplicates: 0 });
    const again = await publish('project-created', { events: [event('2'), event('3')] }, ADMIN_TOKEN);
    expect(again.body).toMatchObject({ accepted: 1, duplicates: 1 });
    expect(again.body.events[0]).toEqual({
      id: '2',
      sequence: first.body.events[1].sequence,
      duplicate: true,
    });

    const log = openEventStream(defaultStreamUrl(reg.config));
    await log.init();
    try {
      const consumer = await log.consumer('project-created', { name: 'test-reader' });
      const got = await consumer.fetch(10, 500);
      expect(got.map((d) => d.id).sort()).toEqual(['1', '2', '3']);
      const one = got.find((d) => d.id === '1')!;
      expect(one.key).toBe('p1');
      expect(one.partition).toBe(partitionOf('p1', 4));
      expect(JSON.parse(new TextDecoder().decode(one.data))).toEqual(event('1'));
      await consumer.close();
    } finally {
      await log.close();
    }
  });

  it('refuses a request with any bad event, publishing none of it, and names the event', async () => {
    const bad: Array<[unknown, string]> = [
      [{ project_id: 'p9', created_on: '2026-12-01T10:00:00Z' }, 'no id'],
      [{ id: '9', created_on: '2026-12-01T10:00:00Z' }, 'no value for the join key'],
      [{ id: '9', project_id: 'p9' }, 'no event time'],
      [{ id: '9', project_id: 'p9', created_on: 'yesterday' }, 'event time'],
      [{ id: { a: 1 }, project_id: 'p9', created_on: 1 }, 'must be text or an integer'],
      [{ id: 'x'.repeat(300), project_id: 'p9', created_on: 1 }, 'longer than'],
    ];
    for (const [e, reason] of bad) {
      const r = await publish('project-created', { events: [event('10'), e] });
      expect(r.status, JSON.stringify(e)).toBe(400);
      expect(r.body.error.code, JSON.stringify(r.body)).toBe('FERRY_STREAM_EVENT_INVALID');
      expect(r.body.error.message).toContain('event 1');
      expect(r.body.error.message).toContain(reason);
    }
    // NUL anywhere in a body is refused by the JSON parser, before the route.
    const nul = await publish('project-created', {
      events: [{ id: 'a\u0000', project_id: 'p9', created_on: 1 }],
    });
    expect(nul.status).toBe(400);
    const notObject = await publish('project-created', { events: ['just text'] });
    expect(notObject.status).toBe(400);
    const tooBig = await publish('project-created', { events: [event('11', { title: 'x'.repeat(3000) })] });
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error.code).toBe('FERRY_STREAM_EVENT_TOO_LARGE');
    // Event 10 came first in every refused request: none of them published it.
    const later = await publish('project-created', { events: [event('10')] });
    expect(later.body).toMatchObject({ accepted: 1, duplicates: 0 });
  });

  it('answers 404 for a stream no source reads, listing the known ones', async () => {
    const r = await publish('nope', { events: [event('1')] });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('FERRY_STREAM_NOT_FOUND');
    expect(r.body.error.details.known).toEqual(['project-created']);
    expect((await publish('Bad Name', { events: [event('1')] })).status).toBe(404);
  });

  it('refuses malformed bodies with 400', async () => {
    for (const body of [{}, { events: [] }, { events: {} }, { events: [event('1')], extra: 1 }]) {
      expect((await publish('project-created', body)).status, JSON.stringify(body)).toBe(400);
    }
  });
});
