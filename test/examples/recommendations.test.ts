import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Candidate,
  HOUR_WEIGHT,
  rankProjects,
  tagAffinity,
} from '../../examples/recommendations/rank.js';
import {
  CandidateCache,
  FEATURES,
  genericList,
  type Recommendation,
  Recommender,
} from '../../examples/recommendations/recommend.js';
import {
  buildRecommendationServer,
  checkLimit,
  checkUser,
  MAX_LIMIT,
} from '../../examples/recommendations/server.js';
import {
  EventGenerator,
  makeUsers,
  nightlyRows,
  publishEvents,
  syntheticProjects,
  TAGS,
  viewEventSpec,
} from '../../examples/recommendations/simulate.js';
import { openEventStream, openOnlineStore, openSqlClient } from '../../src/adapters/factory.js';
import { openFeatures } from '../../src/app/open-features.js';
import { PredictionStore, type StoredPrediction } from '../../src/batch/prediction-store.js';
import { loadConfig } from '../../src/core/config.js';
import { seededRandom } from '../../src/core/random.js';
import { FeatureAccess } from '../../src/serving/feature-access.js';
import { type FeatureEnv, featureEnv } from '../features/helpers.js';
import { runCli } from '../helpers/cli.js';
import { TSX_WORKER_ARGS } from '../helpers/source-node-args.js';
import { makeTmpDir } from '../helpers/tmp-dir.js';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/recommendations');

const cand = (projectId: string, probabilities: Record<string, number>): Candidate => ({
  projectId,
  probabilities,
});

describe('tagAffinity', () => {
  it('is empty without activity, or with counts that are not positive numbers', () => {
    expect(tagAffinity({})).toEqual({});
    expect(tagAffinity({ lastHour: {}, lastDay: {} })).toEqual({});
    expect(tagAffinity({ lastHour: { a: 0, b: -3, c: Number.NaN, d: Number.POSITIVE_INFINITY } })).toEqual(
      {},
    );
  });

  it('turns one window into shares summing to 1', () => {
    expect(tagAffinity({ lastHour: { mlops: 3, other: 1 } })).toEqual({ mlops: 0.75, other: 0.25 });
    expect(tagAffinity({ lastDay: { mlops: 1, other: 1 } })).toEqual({ mlops: 0.5, other: 0.5 });
  });

  it('mixes the hour and the day by HOUR_WEIGHT, so a heavy day does not drown a fresh hour', () => {
    const a = tagAffinity({ lastHour: { nlp: 1 }, lastDay: { cv: 1000 } });
    expect(a.nlp).toBeCloseTo(HOUR_WEIGHT, 12);
    expect(a.cv).toBeCloseTo(1 - HOUR_WEIGHT, 12);
    const b = tagAffinity({ lastHour: { nlp: 2, cv: 2 }, lastDay: { cv: 3, other: 1 } });
    expect(b.nlp).toBeCloseTo(0.35, 12);
    expect(b.cv).toBeCloseTo(0.35 + 0.3 * 0.75, 12);
    expect(b.other).toBeCloseTo(0.3 * 0.25, 12);
    expect(Object.values(b).reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
  });

  it('keeps a tag named __proto__ as a tag', () => {
    const a = tagAffinity({ lastHour: JSON.parse('{"__proto__": 1, "mlops": 1}') });
    expect(Object.keys(a).sort()).toEqual(['__proto__', 'mlops']);
    expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
  });
});

describe('rankProjects', () => {
  const candidates = [
    cand('p1', { mlops: 0.9, nlp: 0.1 }),
    cand('p2', { mlops: 0.2, nlp: 0.8 }),
    cand('p3', { mlops: 0.5, nlp: 0.5 }),
    cand('p4', { cv: 1 }),
  ];

  it('orders by affinity · probability and names the tag that contributed most', () => {
    const ranked = rankProjects({ mlops: 0.75, nlp: 0.25 }, candidates, 10);
    expect(ranked.map((r) => r.projectId)).toEqual(['p1', 'p3', 'p2']);
    expect(ranked[0]).toEqual({ projectId: 'p1', score: 0.75 * 0.9 + 0.25 * 0.1, because: 'mlops' });
    expect(ranked[2]!.because).toBe('nlp');
  });

  it('leaves out what scores 0, what is excluded, and keeps `limit`', () => {
    expect(rankProjects({ mlops: 1 }, candidates, 10).map((r) => r.projectId)).toEqual(['p1', 'p3', 'p2']);
    expect(rankProjects({ mlops: 1 }, candidates, 2).map((r) => r.projectId)).toEqual(['p1', 'p3']);
    expect(rankProjects({ mlops: 1 }, candidates, 10, new Set(['p1'])).map((r) => r.projectId)).toEqual([
      'p3',
      'p2',
    ]);
    expect(rankProjects({ mlops: 1 }, candidates, 0)).toEqual([]);
    expect(rankProjects({ mlops: 1 }, candidates, Number.NaN)).toEqual([]);
    expect(rankProjects({}, candidates, 10)).toEqual([]);
  });

  it('breaks ties by project id and ignores probabilities that are not in [0, 1]', () => {
    const tied = [cand('b', { x: 0.5 }), cand('a', { x: 0.5 }), cand('c', { x: Number.NaN, y: 2 })];
    expect(rankProjects({ x: 0.5, y: 0.5 }, tied, 5).map((r) => r.projectId)).toEqual(['a', 'b']);
  });

  it('gives the same top `limit` as sorting every candidate (seeded random inputs)', () => {
    const random = seededRandom(7);
    const tags = ['a', 'b', 'c', 'd'];
    for (let round = 0; round < 50; round++) {
      const list = Array.from({ length: 200 }, (_, i) =>
        cand(
          `p${Math.floor(random() * 150)}-${i}`,
          Object.fromEntries(tags.map((t) => [t, Math.round(random() * 4) / 4])),
        ),
      );
      const affinity = Object.fromEntries(tags.map((t) => [t, Math.round(random() * 2) / 2]));
      const limit = 1 + Math.floor(random() * 30);
      const brute = list
        .map((c) => ({
          id: c.projectId,
          s: tags.reduce((s, t) => s + (affinity[t] ?? 0) * c.probabilities[t]!, 0),
        }))
        .filter((x) => x.s > 0)
        .sort((x, y) => y.s - x.s || (x.id < y.id ? -1 : 1))
        .slice(0, limit);
      const got = rankProjects(affinity, list, limit);
      expect(got.map((r) => r.projectId)).toEqual(brute.map((x) => x.id));
      for (const [i, r] of got.entries()) expect(r.score).toBeCloseTo(brute[i]!.s, 12);
    }
  });
});

describe('genericList', () => {
  it('deals each tag’s most probable projects round-robin over the tags', () => {
    const list = genericList([
      cand('p1', { mlops: 0.9, nlp: 0.1 }),
      cand('p2', { mlops: 0.6, nlp: 0.4 }),
      cand('p3', { mlops: 0.1, nlp: 0.9 }),
      cand('p4', { mlops: 0.3, nlp: 0.7 }),
      cand('p5', { mlops: 0.8, nlp: 0.2 }),
    ]);
    expect(list.map((i) => `${i.project_id}:${i.because}`)).toEqual([
      'p1:mlops',
      'p3:nlp',
      'p5:mlops',
      'p4:nlp',
      'p2:mlops',
    ]);
    expect(list[0]!.score).toBe(0.9);
  });
});

describe('the edge checks', () => {
  it('accepts ordinary user ids and limits', () => {
    expect(checkUser('u0001')).toBe('u0001');
    expect(checkUser('josé@example.com')).toBe('josé@example.com');
    expect(checkLimit(undefined)).toBe(10);
    expect(checkLimit('1')).toBe(1);
    expect(checkLimit(String(MAX_LIMIT))).toBe(MAX_LIMIT);
  });

  it('refuses the rest with FERRY_HTTP_INVALID_REQUEST naming the field', () => {
    for (const bad of ['', 'a'.repeat(257), 'a\u0000b', 'a\u001fb', '\ud800']) {
      expect(() => checkUser(bad)).toThrow(
        expect.objectContaining({ code: 'FERRY_HTTP_INVALID_REQUEST', details: { field: 'user' } }),
      );
    }
    for (const bad of ['0', '101', '-1', '1.5', 'ten', '', ['1', '2'], '99999']) {
      expect(() => checkLimit(bad)).toThrow(
        expect.objectContaining({ code: 'FERRY_HTTP_INVALID_REQUEST', details: { field: 'limit' } }),
      );
    }
  });
});

describe('the simulator', () => {
  it('is seeded, gives unique ids, and mostly views the preferred tag', () => {
    const users = makeUsers(10, TAGS, 3);
    expect(makeUsers(4, TAGS, 3)).toEqual(users.slice(0, 4));
    const projects = syntheticProjects(40, TAGS);
    const gen = new EventGenerator({ users, projects, seed: 3, runId: 'r' });
    const events = Array.from({ length: 2000 }, () => gen.next(Date.UTC(2026, 0, 1)));
    expect(new Set(events.map((e) => e.id)).size).toBe(2000);
    const prefs = new Map(users.map((u) => [u.id, u.preferredTag]));
    const share = events.filter((e) => e.tag === prefs.get(e.user_id)).length / events.length;
    // 0.8 on purpose, plus the 1/4 of the other views that land on the tag anyway: ~0.85.
    expect(share).toBeGreaterThan(0.8);
    expect(share).toBeLessThan(0.9);
    const again = new EventGenerator({ users, projects, seed: 3, runId: 'r' });
    expect(again.next(Date.UTC(2026, 0, 1))).toEqual(events[0]);
  });
});

// ---- The recommender over a real feature store (SQLite), rows written as the pipeline writes them ----

const TAG_OF: Record<string, string> = {};
/** 12 projects, 3 per tag; probabilities 0.7 on the project's tag, 0.1 on each other. */
function storedPredictions(now: Date): StoredPrediction[] {
  return syntheticProjects(12, TAGS).map((p) => {
    TAG_OF[p.id] = p.tag;
    const probabilities = Object.fromEntries(TAGS.map((t) => [t, t === p.tag ? 0.7 : 0.1]));
    return {
      model: 'tagifai',
      entityId: p.id,
      version: 1,
      inputSha256: `sha-${p.id}`,
      prediction: p.tag,
      probabilities,
      outputs: {},
      computedAt: now.toISOString(),
      jobId: 'job-1',
    };
  });
}

interface RecsEnv {
  env: FeatureEnv;
  predictions: PredictionStore;
  recommender: Recommender;
  remove(): Promise<void>;
}

async function recsEnv(now: number, nightly: string): Promise<RecsEnv> {
  const tmp = await makeTmpDir('ferry-recs-');
  const url = `sqlite:${join(tmp.path, 'ferry.db')}`;
  const env = await featureEnv(tmp.path, openSqlClient(url), url);
  // The example's definitions as they are, beside a nightly file of this test's.
  writeFileSync(join(tmp.path, 'nightly.jsonl'), nightly);
  await env.apply(readFileSync(join(EXAMPLE, 'features.json'), 'utf8'));
  await env.materialize({ views: ['user_nightly'] });
  const predictions = new PredictionStore({ sql: env.sql });
  await predictions.init();
  await predictions.upsertMany(storedPredictions(new Date(now)));
  const recommender = new Recommender({
    features: new FeatureAccess({ repoStore: env.repoStore, online: async () => env.online, now: () => now }),
    candidates: new CandidateCache({ store: predictions, pageSize: 5 }),
  });
  return {
    env,
    predictions,
    recommender,
    remove: async () => {
      await env.close();
      await tmp.remove();
    },
  };
}

describe('Recommender over the applied example definitions', () => {
  const now = Date.now();
  const nightly = `${JSON.stringify({ user_id: 'night', computed_at: new Date(now - 3_600_000).toISOString(), projects: ['p0010', 'p0002', 'zzz-unknown'] })}\n${JSON.stringify({ user_id: 'stale-night', computed_at: new Date(now - 3 * 86_400_000).toISOString(), projects: ['p0001'] })}\n`;
  let r: RecsEnv;
  beforeEach(async () => {
    r = await recsEnv(now, nightly);
  });
  afterEach(async () => {
    await r.remove();
  });

  const writeActivity = (
    user: string,
    hour: Record<string, number> | null,
    day: Record<string, number> | null,
    atMs: number,
  ) =>
    r.env.online.writeMany([
      ...(hour === null
        ? []
        : [
            {
              view: 'user_activity_1h',
              entityKey: user,
              eventTimeMs: atMs,
              values: { views_per_tag_1h: hour, views_1h: 1 },
            },
          ]),
      ...(day === null
        ? []
        : [
            {
              view: 'user_activity_24h',
              entityKey: user,
              eventTimeMs: atMs,
              values: { views_per_tag_24h: day, top_tag: [Object.keys(day)[0]!], click_rate: 0.5 },
            },
          ]),
    ]);

  it('ranks fresh activity first, padded with the generic list at score 0', async () => {
    await writeActivity('fresh', { mlops: 5 }, { mlops: 9, other: 1 }, now - 60_000);
    const rec = await r.recommender.recommend('fresh', 6);
    expect(rec.source).toBe('fresh');
    expect(rec.features_event_time).toBe(new Date(now - 60_000).toISOString());
    const tags = rec.items.map((i) => TAG_OF[i.project_id]);
    expect(tags.slice(0, 3)).toEqual(['mlops', 'mlops', 'mlops']);
    expect(rec.items.slice(0, 3).every((i) => i.because === 'mlops' && i.score > 0.6)).toBe(true);
    expect(rec.items).toHaveLength(6);
    const scores = rec.items.map((i) => i.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(new Set(rec.items.map((i) => i.project_id)).size).toBe(6);
  });

  it('uses the day when the hour expired, and the nightly list when both did', async () => {
    await writeActivity('dayonly', { mlops: 5 }, { 'computer-vision': 3 }, now - 2 * 3_600_000);
    const day = await r.recommender.recommend('dayonly', 3);
    expect(day.source).toBe('fresh');
    expect(day.items.map((i) => TAG_OF[i.project_id])).toEqual([
      'computer-vision',
      'computer-vision',
      'computer-vision',
    ]);

    await writeActivity('night', { mlops: 5 }, { mlops: 5 }, now - 25 * 3_600_000);
    const night = await r.recommender.recommend('night', 10);
    expect(night.source).toBe('nightly');
    expect(night.items).toEqual([
      { project_id: 'p0010', score: 1, because: TAG_OF.p0010 },
      { project_id: 'p0002', score: 2 / 3, because: TAG_OF.p0002 },
      { project_id: 'zzz-unknown', score: 1 / 3, because: null },
    ]);
    expect(night.features_event_time).toBe(new Date(now - 3_600_000).toISOString());
  });

  it('serves the generic list to a new user and to one whose nightly row expired', async () => {
    for (const user of ['newcomer', 'stale-night']) {
      const rec = await r.recommender.recommend(user, 8);
      expect(rec.source).toBe('generic');
      expect(rec.features_event_time).toBeNull();
      // Round-robin: the first four items cover the four tags.
      expect(new Set(rec.items.slice(0, 4).map((i) => TAG_OF[i.project_id]))).toEqual(new Set(TAGS));
      expect(rec.items).toHaveLength(8);
    }
  });

  it('answers over HTTP in the documented shape, and 400s with a stable code', async () => {
    await writeActivity('web', { other: 2 }, null, now - 1000);
    const app = buildRecommendationServer({ recommender: r.recommender });
    try {
      const ok = await app.inject({ method: 'GET', url: '/v1/recommendations/web?limit=2' });
      expect(ok.statusCode).toBe(200);
      const body = ok.json() as Recommendation;
      expect(body).toMatchObject({ user: 'web', source: 'fresh' });
      expect(body.items.map((i) => TAG_OF[i.project_id])).toEqual(['other', 'other']);
      expect(Object.keys(body).sort()).toEqual(['features_event_time', 'items', 'source', 'user']);

      const enc = await app.inject({
        method: 'GET',
        url: `/v1/recommendations/${encodeURIComponent('a b/é')}`,
      });
      expect(enc.statusCode).toBe(200);
      expect(enc.json()).toMatchObject({ user: 'a b/é', source: 'generic' });

      for (const url of [
        '/v1/recommendations/web?limit=0',
        '/v1/recommendations/web?limit=abc',
        '/v1/recommendations/web?limit=1&limit=2',
        `/v1/recommendations/${'x'.repeat(300)}`,
        '/v1/recommendations/a%00b',
        '/v1/recommendations/%E0%A4%A',
      ]) {
        const res = await app.inject({ method: 'GET', url });
        expect(res.statusCode, url).toBe(400);
        const err = res.json() as { error: { code: string; message: string } };
        expect(err.error.code, url).toBe('FERRY_HTTP_INVALID_REQUEST');
        expect(res.body).not.toMatch(/\bat .*\.ts:\d+/);
      }
      const missing = await app.inject({ method: 'GET', url: '/v1/recommendations/' });
      expect([400, 404]).toContain(missing.statusCode);
      expect((missing.json() as { error: { code: string } }).error.code).toMatch(/^FERRY_HTTP_/);
    } finally {
      await app.close();
    }
  });

  it('serves the generic list when the online store is down, and says so', async () => {
    const down = openOnlineStore('redis://127.0.0.1:1', { connectTimeoutMs: 300 });
    const degraded: string[] = [];
    const recommender = new Recommender({
      features: new FeatureAccess({
        repoStore: r.env.repoStore,
        online: async () => {
          await down.init();
          return down;
        },
      }),
      candidates: new CandidateCache({ store: r.predictions }),
      onDegraded: (user) => degraded.push(user),
    });
    try {
      const rec = await recommender.recommend('anyone', 3);
      expect(rec.source).toBe('generic');
      expect(rec.items).toHaveLength(3);
      expect(degraded).toEqual(['anyone']);
    } finally {
      await down.close().catch(() => {});
    }
  });
});

describe('CandidateCache', () => {
  it('reads every page, reuses the set within its TTL, and serves the old set when a reload fails', async () => {
    const tmp = await makeTmpDir('ferry-recs-cache-');
    const sql = openSqlClient(`sqlite:${join(tmp.path, 'ferry.db')}`);
    try {
      await sql.init();
      const store = new PredictionStore({ sql });
      await store.init();
      await store.upsertMany(storedPredictions(new Date()));
      let clock = 0;
      let calls = 0;
      let failing = false;
      const stale: unknown[] = [];
      const cache = new CandidateCache({
        store: {
          list: (model, opts) => {
            calls++;
            if (failing) return Promise.reject(new Error('database gone'));
            return store.list(model, opts);
          },
        },
        pageSize: 5,
        ttlMs: 1000,
        now: () => clock,
        onStale: (e) => stale.push(e),
      });
      const first = await cache.get();
      expect(first.candidates.map((c) => c.projectId)).toEqual(syntheticProjects(12, TAGS).map((p) => p.id));
      expect(calls).toBe(3); // 5 + 5 + 2
      const [a, b] = await Promise.all([cache.get(), cache.get()]);
      expect(a).toBe(first);
      expect(b).toBe(first);
      expect(calls).toBe(3);
      clock = 1000;
      failing = true;
      expect(await cache.get()).toBe(first);
      expect(stale).toHaveLength(1);
      failing = false;
      const reloaded = await cache.get();
      expect(reloaded).not.toBe(first);
      expect(reloaded.candidates).toHaveLength(12);
      const empty = new CandidateCache({ store: { list: () => Promise.reject(new Error('down')) } });
      await expect(empty.get()).rejects.toThrow('down');
    } finally {
      await sql.close();
      await tmp.remove();
    }
  });
});

describe('the example files', () => {
  it('nightlyRows writes what the user_nightly view reads', () => {
    const users = makeUsers(2, TAGS, 1);
    const text = nightlyRows(users, syntheticProjects(8, TAGS), new Date(0), 2);
    const rows = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { user_id: string; projects: string[] });
    expect(rows.map((r) => r.user_id)).toEqual(['u0001', 'u0002']);
    expect(rows[0]!.projects).toHaveLength(2);
    expect(FEATURES.nightly).toBe('user_nightly:projects');
  });
});

// ---- End to end: stored predictions, the example's definitions applied by the CLI, simulated
// events on the embedded log, the user_activity pipeline, then the recommendations over HTTP ----

describe('end to end: events → the user_activity pipeline → recommendations', () => {
  let tmp: { path: string; remove: () => Promise<void> };
  beforeEach(async () => {
    tmp = await makeTmpDir('ferry-recs-e2e-');
  });
  afterEach(async () => {
    await tmp.remove();
  });

  it('recommends each user the projects of the tag they viewed; nightly and generic otherwise', async () => {
    const home = join(tmp.path, 'home');
    const env = {
      FERRY_HOME: home,
      FERRY_DB: undefined,
      FERRY_ONLINE_STORE: undefined,
      FERRY_STREAM_URL: undefined,
    };
    const now = Date.now();
    // Stored predictions of tagifai, written directly: nothing is registered.
    mkdirSync(home, { recursive: true });
    const sql = openSqlClient(`sqlite:${join(home, 'ferry.db')}`);
    await sql.init();
    const store = new PredictionStore({ sql });
    await store.init();
    await store.upsertMany(storedPredictions(new Date(now)));
    await sql.close();

    // The example's definitions, beside a nightly file with one user.
    const repoDir = join(tmp.path, 'repo');
    mkdirSync(repoDir);
    copyFileSync(join(EXAMPLE, 'features.json'), join(repoDir, 'features.json'));
    writeFileSync(
      join(repoDir, 'nightly.jsonl'),
      `${JSON.stringify({ user_id: 'carol', computed_at: new Date(now - 7_200_000).toISOString(), projects: ['p0004', 'p0008'] })}\n`,
    );
    const file = join(repoDir, 'features.json');
    const applied = await runCli(['features', 'apply', '--file', file, '--yes'], env);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('+ pipeline user_activity');
    const nightly = await runCli(['features', 'materialize', '--file', file, '--views', 'user_nightly'], env);
    expect(nightly.code, nightly.stderr).toBe(0);

    // 100 views each for alice (mlops) and bob (computer-vision) over the last ~17 minutes.
    const alice = { id: 'alice', preferredTag: 'mlops' };
    const bob = { id: 'bob', preferredTag: 'computer-vision' };
    const gen = new EventGenerator({ users: [alice, bob], projects: syntheticProjects(12, TAGS), seed: 11 });
    const events = Array.from({ length: 200 }, (_, i) =>
      gen.next(now - (200 - i) * 5000, i % 2 === 0 ? alice : bob),
    );
    const transport = openEventStream(`sqlite:${join(home, 'streams.db')}`);
    await transport.init();
    try {
      await transport.ensureStream({ name: 'project-viewed' });
      expect(await publishEvents(transport, await viewEventSpec(file), events)).toBe(200);
    } finally {
      await transport.close();
    }

    await runUserActivity(home, file, env, 200);

    const config = loadConfig({ FERRY_HOME: home }, {}, tmp.path);
    const features = await openFeatures(config, { FERRY_HOME: home });
    try {
      // What the pipeline wrote for alice: her last hour, exactly.
      const access = new FeatureAccess({ repoStore: features.repoStore, online: features.online });
      const read = await access.read({ service: 'recs', entities: { user_id: ['alice'] } });
      const f = read.results[0]!.features;
      const mine = events.filter((e) => e.user_id === 'alice');
      const perTag: Record<string, number> = {};
      for (const e of mine) perTag[e.tag] = (perTag[e.tag] ?? 0) + 1;
      expect(f['user_activity_1h:views_1h']).toMatchObject({ status: 'PRESENT', value: 100 });
      expect(f['user_activity_1h:views_per_tag_1h']!.value).toEqual(perTag);
      expect(f['user_activity_24h:top_tag']!.value).toEqual(['mlops']);
      expect(f['user_activity_24h:click_rate']!.value).toBeCloseTo(
        mine.reduce((s, e) => s + e.clicked, 0) / 100,
        12,
      );

      const recommender = new Recommender({
        features: access,
        candidates: new CandidateCache({ store: new PredictionStore({ sql: features.sql }) }),
      });
      const app = buildRecommendationServer({ recommender });
      try {
        const get = async (user: string) => {
          const res = await app.inject({ method: 'GET', url: `/v1/recommendations/${user}?limit=3` });
          expect(res.statusCode, res.body).toBe(200);
          return res.json() as Recommendation;
        };
        const a = await get('alice');
        expect(a.source).toBe('fresh');
        expect(a.items.map((i) => TAG_OF[i.project_id])).toEqual(['mlops', 'mlops', 'mlops']);
        expect(a.features_event_time).toBe(mine.at(-1)!.viewed_at);
        const b = await get('bob');
        expect(b.source).toBe('fresh');
        expect(b.items.map((i) => TAG_OF[i.project_id])).toEqual([
          'computer-vision',
          'computer-vision',
          'computer-vision',
        ]);
        const c = await get('carol');
        expect(c).toMatchObject({
          source: 'nightly',
          items: [{ project_id: 'p0004' }, { project_id: 'p0008' }],
        });
        const d = await get('dave');
        expect(d.source).toBe('generic');
        expect(d.items).toHaveLength(3);
      } finally {
        await app.close();
      }
    } finally {
      await features.close();
    }
  });
});

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * `ferry stream run user_activity` in its own process, as a user runs it, until the transport says
 * its consumer has acknowledged every event (it acks after the sinks wrote), then SIGTERM: it must
 * stop cleanly (exit 0) and report what it processed.
 */
async function runUserActivity(
  home: string,
  file: string,
  env: Record<string, string | undefined>,
  count: number,
): Promise<void> {
  const child = spawn(
    resolve(ROOT, 'node_modules/.bin/tsx'),
    [
      ...TSX_WORKER_ARGS,
      resolve(ROOT, 'src/cli/index.ts'),
      'stream',
      'run',
      'user_activity',
      '--features-file',
      file,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0', FERRY_LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const transport = openEventStream(`sqlite:${join(home, 'streams.db')}`);
  await transport.init();
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const consumer = (await transport.status('project-viewed')).consumers.find(
        (c) => c.name === 'user_activity',
      );
      if (consumer !== undefined && consumer.pending === 0 && consumer.inFlight === 0) break;
      if (child.exitCode !== null) throw new Error(`ferry stream run exited early:\n${output}`);
      if (Date.now() > deadline) throw new Error(`ferry stream run did not catch up within 60 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await transport.close();
    child.kill('SIGTERM');
  }
  expect(await exited, output).toBe(0);
  const stopped = output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg?: string; processed?: number; late?: number; deadLettered?: number })
    .find((l) => l.msg === 'pipeline stopped');
  expect(stopped, output).toMatchObject({ processed: count, late: 0, deadLettered: 0 });
}
