import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlOnlineStore } from '../../src/adapters/sql/sql-online-store.js';
import { openFerry } from '../../src/app/open-ferry.js';
import { FeatureRepoStore } from '../../src/features/feature-repo-store.js';
import { loadDefinitions } from '../../src/features/load-definitions.js';
import { repoObjects } from '../../src/features/repo-objects.js';
import {
  ADMIN_TOKEN,
  createTestRegistry,
  PROJECTS,
  startTestServer,
  type TestRegistry,
  type TestServer,
} from '../helpers/serving.js';

/**
 * The feature store over HTTP: POST /v1/features/online (statuses, TTL at read time, unknown
 * names, access) and predictions for an entity named only by its join key (`/predict` and v2).
 */
const DAY = 86_400_000;
const NOW = Date.now();

const DEFINITIONS = {
  entities: [{ name: 'project', joinKeys: ['project_id'] }],
  sources: [{ name: 'projects', kind: 'file', path: 'projects.csv', timestampField: 'created_on' }],
  views: [
    {
      name: 'project_text',
      entities: ['project'],
      source: 'projects',
      ttl: '30d',
      schema: [
        { name: 'title', type: 'string' },
        { name: 'description', type: 'string' },
      ],
      transform: {
        kind: 'row',
        features: { title: { from: 'title' }, description: { from: 'description' } },
      },
    },
  ],
  services: [
    { name: 'tagifai_inputs', features: ['project_text'], model: 'tagifai' },
    { name: 'titles', features: ['project_text:title'] },
  ],
};

let reg: TestRegistry;
let server: TestServer;

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read field by field
  return { status: r.status, headers: r.headers, body: (await r.json()) as Record<string, any> };
}

beforeAll(async () => {
  reg = await createTestRegistry();
  writeFileSync(join(reg.home, 'projects.csv'), 'project_id,title,description,created_on\n');
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
    await online.writeMany([
      { view: 'project_text', entityKey: '42', eventTimeMs: NOW - 1000, values: PROJECTS.cv },
      { view: 'project_text', entityKey: '7', eventTimeMs: NOW - 31 * DAY, values: PROJECTS.nlp },
    ]);
  } finally {
    await ferry.close();
  }
  server = await startTestServer({ registry: reg, adminToken: ADMIN_TOKEN });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await reg?.close();
});

describe('POST /v1/features/online', () => {
  it('answers each value with its status: PRESENT, EXPIRED past the TTL (value withheld), NOT_FOUND', async () => {
    const r = await post('/v1/features/online', {
      service: 'titles',
      entities: { project_id: ['42', '7', 'nope', 42] },
    });
    expect(r.status).toBe(200);
    expect(r.body.features).toEqual(['project_text:title']);
    // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read field by field
    const [fresh, old, missing, numeric] = r.body.results as any[];
    expect(fresh.entity).toEqual({ project_id: '42' });
    expect(fresh.features['project_text:title']).toEqual({
      value: PROJECTS.cv.title,
      status: 'PRESENT',
      event_time: new Date(NOW - 1000).toISOString(),
    });
    expect(old.features['project_text:title']).toMatchObject({ value: null, status: 'EXPIRED' });
    expect(missing.features['project_text:title']).toEqual({
      value: null,
      status: 'NOT_FOUND',
      event_time: null,
    });
    expect(numeric.features['project_text:title'].status).toBe('PRESENT');
  });

  it('reads a list of view:feature too', async () => {
    const r = await post('/v1/features/online', {
      features: ['project_text:description'],
      entities: { project_id: ['42'] },
    });
    expect(r.body.results[0].features['project_text:description'].value).toBe(PROJECTS.cv.description);
  });

  it('writes exactly the documented fields (JSON.stringify, not the schema serializer) and documents them', async () => {
    const r = await fetch(`${server.url}/v1/features/online`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service: 'titles', entities: { project_id: ['42', 'nope'] } }),
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await r.text()).toBe(
      JSON.stringify({
        features: ['project_text:title'],
        results: [
          {
            entity: { project_id: '42' },
            features: {
              'project_text:title': {
                value: PROJECTS.cv.title,
                status: 'PRESENT',
                event_time: new Date(NOW - 1000).toISOString(),
              },
            },
          },
          {
            entity: { project_id: 'nope' },
            features: { 'project_text:title': { value: null, status: 'NOT_FOUND', event_time: null } },
          },
        ],
      }),
    );
    // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read field by field
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as Record<string, any>;
    const ok = doc.paths['/v1/features/online'].post.responses['200'];
    const schema = ok.content['application/json'].schema;
    expect(Object.keys(schema.properties)).toEqual(['features', 'results']);
    expect(
      schema.properties.results.items.properties.features.additionalProperties.properties.status.enum,
    ).toEqual(['PRESENT', 'NOT_FOUND', 'EXPIRED']);
  });

  it('refuses unknown services and features with 404, listing the known ones', async () => {
    const r = await post('/v1/features/online', { service: 'recs', entities: { project_id: ['1'] } });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('FERRY_FEATURES_NOT_FOUND');
    expect(JSON.stringify(r.body.error.details)).toContain('titles');
    const f = await post('/v1/features/online', {
      features: ['project_text:stars'],
      entities: { project_id: ['1'] },
    });
    expect(f.status).toBe(404);
    expect(f.body.error.code).toBe('FERRY_FEATURES_NOT_FOUND');
  });

  it('refuses bad entity lists with 400 and a stable code', async () => {
    for (const entities of [{}, { user_id: ['1'] }, { project_id: [] }, { project_id: ['a\u0000b'] }]) {
      const r = await post('/v1/features/online', { service: 'titles', entities });
      expect(r.status, JSON.stringify(entities)).toBe(400);
      expect(r.body.error.code).toMatch(/^FERRY_(FEATURES_INVALID_REQUEST|HTTP_INVALID_REQUEST)$/);
    }
    const tooMany = await post('/v1/features/online', {
      service: 'titles',
      entities: { project_id: Array.from({ length: 1001 }, (_, i) => String(i)) },
    });
    expect(tooMany.status).toBe(400);
    const both = await post('/v1/features/online', {
      service: 'titles',
      features: ['project_text:title'],
      entities: { project_id: ['1'] },
    });
    expect(both.status).toBe(400);
  });
});

describe('predicting for an entity from the online store', () => {
  it('POST /predict {"project_id"} predicts what the same text predicts', async () => {
    const byEntity = await post('/predict', { project_id: '42' });
    expect(byEntity.status).toBe(200);
    const byText = await post('/predict', PROJECTS.cv);
    expect(byEntity.body.results).toEqual(byText.body.results);
    expect(byEntity.body.entity).toEqual({ project_id: '42' });
    expect(byEntity.headers.get('x-ferry-features-event-time')).toBe(new Date(NOW - 1000).toISOString());
    const explicit = await post('/predict', { entity: { project_id: 42 } });
    expect(explicit.body.results).toEqual(byText.body.results);
  });

  it('answers 404 for an entity without fresh features, and still refuses unknown fields', async () => {
    for (const id of ['nope', '7']) {
      const r = await post('/predict', { project_id: id });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('FERRY_FEATURES_NOT_FOUND');
    }
    // Keys that are not exact: 1e308 is an "integer" to JSON, but no id is (never a lookup of "1e+308").
    for (const body of [{ project_id: 1e308 }, { entity: { project_id: 1e308 } }, { project_id: '' }]) {
      expect((await post('/predict', body)).status, JSON.stringify(body)).toBe(400);
    }
    const huge = await post('/v1/features/online', {
      service: 'titles',
      entities: { project_id: [1e308, 'x'.repeat(600)] },
    });
    expect(huge.status).toBe(400);
    const typo = await post('/predict', { titel: 'x' });
    expect(typo.status).toBe(400);
  });

  it('v2 infer takes parameters.entity in place of inputs', async () => {
    const r = await post('/v2/models/tagifai/infer', { parameters: { entity: { project_id: '42' } } });
    expect(r.status).toBe(200);
    const byText = await post('/v2/models/tagifai/infer', {
      inputs: [
        { name: 'title', datatype: 'BYTES', shape: [1], data: [PROJECTS.cv.title] },
        { name: 'description', datatype: 'BYTES', shape: [1], data: [PROJECTS.cv.description] },
      ],
    });
    expect(r.body.outputs).toEqual(byText.body.outputs);
    for (const entity of [['42'], { project_id: 1e308 }, { project_id: '' }, {}]) {
      const bad = await post('/v2/models/tagifai/infer', { parameters: { entity } });
      expect(bad.status, JSON.stringify(entity)).toBe(400);
    }
    const missing = await post('/v2/models/tagifai/infer', {
      parameters: { entity: { project_id: 'nope' } },
    });
    expect(missing.status).toBe(404);
  });
});

describe('access to online features', () => {
  it('with FERRY_FEATURES_TOKEN set, reads and entity lookups need it (or the admin token)', async () => {
    const guarded = await startTestServer({
      registry: reg,
      adminToken: ADMIN_TOKEN,
      config: { featuresToken: 'feat-token-0123456789' },
    });
    try {
      const call = (path: string, body: unknown, token?: string) =>
        fetch(`${guarded.url}${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify(body),
        });
      const read = { service: 'titles', entities: { project_id: ['42'] } };
      expect((await call('/v1/features/online', read)).status).toBe(401);
      expect((await call('/predict', { project_id: '42' })).status).toBe(401);
      expect((await call('/v1/features/online', read, 'feat-token-0123456789')).status).toBe(200);
      expect((await call('/v1/features/online', read, ADMIN_TOKEN)).status).toBe(200);
      // Text predictions stay open.
      expect((await call('/predict', PROJECTS.cv)).status).toBe(200);
    } finally {
      await guarded.close();
    }
  });

  it('answers 503 FERRY_FEATURES_UNAVAILABLE when the online store is unreachable, and serves text meanwhile', async () => {
    const down = await startTestServer({ registry: reg, config: { onlineStore: 'redis://127.0.0.1:1' } });
    try {
      const started = Date.now();
      const r = await fetch(`${down.url}/v1/features/online`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ service: 'titles', entities: { project_id: ['42'] } }),
      });
      expect(r.status).toBe(503);
      // biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read field by field
      const body = (await r.json()) as any;
      expect(body.error.code).toBe('FERRY_FEATURES_UNAVAILABLE');
      expect(JSON.stringify(body)).not.toContain('127.0.0.1');
      expect(Date.now() - started).toBeLessThan(5000);
      const text = await fetch(`${down.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(PROJECTS.cv),
      });
      expect(text.status).toBe(200);
    } finally {
      await down.close();
    }
  });
});
