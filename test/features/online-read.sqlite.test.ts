import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import type { AppliedRepo } from '../../src/features/feature-repo-store.js';
import { MAX_ENTITIES_PER_REQUEST, readOnlineFeatures } from '../../src/features/online-read.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { day, type FeatureEnv, featureEnv, iso } from './helpers.js';

const dir = tmpDir('ferry-online-read-');
let env: FeatureEnv;
let applied: AppliedRepo;
const TTL = 86_400_000;

beforeAll(async () => {
  const db = join(dir.path, 'ferry.db');
  env = await featureEnv(dir.path, new SqliteClient({ path: db }), `sqlite:${db}`);
  await env.apply({
    entities: [
      { name: 'project', joinKeys: ['project_id'] },
      { name: 'user', joinKeys: ['user_id'] },
    ],
    sources: [{ name: 's', kind: 'sql', table: 't', timestampField: 'ts' }],
    views: [
      {
        name: 'stars',
        entities: ['project'],
        source: 's',
        ttl: '1d',
        schema: [
          { name: 'stars', type: 'int64' },
          { name: 'tags', type: 'string_list' },
        ],
        transform: { kind: 'row' },
      },
      {
        name: 'affinity',
        entities: ['user', 'project'],
        source: 's',
        ttl: '1h',
        schema: [{ name: 'score', type: 'float64' }],
        transform: { kind: 'row' },
      },
      {
        name: 'archive',
        entities: ['project'],
        source: 's',
        ttl: '1d',
        online: false,
        schema: [{ name: 'old', type: 'int64' }],
        transform: { kind: 'row' },
      },
    ],
    services: [{ name: 'ranker', features: ['stars:stars', 'affinity:score'] }],
  });
  applied = await env.repoStore.appliedRepo();
  await env.online.writeMany([
    { view: 'stars', entityKey: 'fresh', eventTimeMs: day(10), values: { stars: 5, tags: ['a'] } },
    { view: 'stars', entityKey: 'old', eventTimeMs: day(10) - TTL - 1, values: { stars: 1, tags: [] } },
    { view: 'stars', entityKey: 'edge', eventTimeMs: day(10) - TTL, values: { stars: 2, tags: [] } },
    { view: 'affinity', entityKey: 'u1\u001ffresh', eventTimeMs: day(10), values: { score: 0.25 } },
  ]);
});
afterAll(async () => {
  await env.close();
  dir.remove();
});

describe('readOnlineFeatures', () => {
  it('answers PRESENT, EXPIRED (older than the TTL, value withheld) and NOT_FOUND, with event times', async () => {
    const r = await readOnlineFeatures(
      applied,
      env.online,
      { features: ['stars'], entities: { project_id: ['fresh', 'old', 'edge', 'missing'] } },
      day(10),
    );
    expect(r.features).toEqual(['stars:stars', 'stars:tags']);
    expect(r.results.map((x) => [x.entity.project_id, x.features['stars:stars']])).toEqual([
      ['fresh', { value: 5, status: 'PRESENT', eventTime: iso(day(10)) }],
      ['old', { value: null, status: 'EXPIRED', eventTime: iso(day(10) - TTL - 1) }],
      ['edge', { value: 2, status: 'PRESENT', eventTime: iso(day(10) - TTL) }],
      ['missing', { value: null, status: 'NOT_FOUND', eventTime: null }],
    ]);
    expect(r.results[0]!.features['stars:tags']).toEqual({
      value: ['a'],
      status: 'PRESENT',
      eventTime: iso(day(10)),
    });
    // The same stored row, read a millisecond later: the edge has expired.
    const later = await readOnlineFeatures(
      applied,
      env.online,
      { features: ['stars:stars'], entities: { project_id: ['edge'] } },
      day(10) + 1,
    );
    expect(later.results[0]!.features['stars:stars']!.status).toBe('EXPIRED');
  });

  it('reads a service across views with composite keys, entities in request order', async () => {
    const r = await readOnlineFeatures(
      applied,
      env.online,
      { service: 'ranker', entities: { project_id: ['fresh', 'fresh'], user_id: ['u2', 'u1'] } },
      day(10) + 30 * 60_000,
    );
    expect(r.results).toEqual([
      {
        entity: { project_id: 'fresh', user_id: 'u2' },
        features: {
          'stars:stars': { value: 5, status: 'PRESENT', eventTime: iso(day(10)) },
          'affinity:score': { value: null, status: 'NOT_FOUND', eventTime: null },
        },
      },
      {
        entity: { project_id: 'fresh', user_id: 'u1' },
        features: {
          'stars:stars': { value: 5, status: 'PRESENT', eventTime: iso(day(10)) },
          'affinity:score': { value: 0.25, status: 'PRESENT', eventTime: iso(day(10)) },
        },
      },
    ]);
  });

  it('refuses unknown services and features with the known ones listed (404)', async () => {
    const service = await expectFerryError(
      readOnlineFeatures(applied, env.online, { service: 'nope', entities: { project_id: ['a'] } }, 0),
      'FERRY_FEATURES_NOT_FOUND',
      404,
    );
    expect(service.details).toEqual({ service: 'nope', known: ['ranker'] });
    const feature = await expectFerryError(
      readOnlineFeatures(
        applied,
        env.online,
        { features: ['stars:nope'], entities: { project_id: ['a'] } },
        0,
      ),
      'FERRY_FEATURES_NOT_FOUND',
      404,
    );
    expect(feature.details.known).toEqual(['affinity:score', 'archive:old', 'stars:stars', 'stars:tags']);
  });

  it('refuses malformed and oversized requests (400)', async () => {
    const read = (entities: unknown, features = ['stars:stars']) =>
      readOnlineFeatures(
        applied,
        env.online,
        { features, entities: entities as Record<string, string[]> },
        0,
      );
    const big = Array.from({ length: MAX_ENTITIES_PER_REQUEST + 1 }, (_, i) => String(i));
    const tooMany = await expectFerryError(read({ project_id: big }), 'FERRY_FEATURES_INVALID_REQUEST', 400);
    expect(tooMany.message).toBe('at most 1000 entities per request, got 1001');
    await read({ project_id: big.slice(0, MAX_ENTITIES_PER_REQUEST) });
    await expectFerryError(read({ user_id: ['u1'] }), 'FERRY_FEATURES_INVALID_REQUEST');
    await expectFerryError(read({ project_id: ['a'], extra: ['b'] }), 'FERRY_FEATURES_INVALID_REQUEST');
    await expectFerryError(read({ project_id: [] }), 'FERRY_FEATURES_INVALID_REQUEST');
    await expectFerryError(read({ project_id: 'a' }), 'FERRY_FEATURES_INVALID_REQUEST');
    await expectFerryError(read({ project_id: [''] }), 'FERRY_FEATURES_INVALID_REQUEST');
    await expectFerryError(read({ project_id: ['a\u0000'] }), 'FERRY_FEATURES_INVALID_REQUEST');
    await expectFerryError(read({ project_id: [{}] }), 'FERRY_FEATURES_INVALID_REQUEST');
    const lengths = await expectFerryError(
      read({ project_id: ['a', 'b'], user_id: ['u'] }, ['affinity:score']),
      'FERRY_FEATURES_INVALID_REQUEST',
    );
    expect(lengths.message).toMatch(/one value per entity/);
    const offline = await expectFerryError(
      read({ project_id: ['a'] }, ['archive:old']),
      'FERRY_FEATURES_INVALID_REQUEST',
    );
    expect(offline.message).toMatch(/archive is not online/);
    // Integer ids are accepted as their text.
    const r = await readOnlineFeatures(
      applied,
      env.online,
      { features: ['stars:stars'], entities: { project_id: [42] } },
      0,
    );
    expect(r.results[0]!.entity).toEqual({ project_id: '42' });
  });
});
