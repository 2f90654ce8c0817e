/** Feature view freshness (GET /v1/features/status's domain) on the real PostgreSQL: BIGINT and SUM come back as text there. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { featureViewsStatus } from '../../src/features/feature-status.js';
import {
  day,
  type FeatureEnv,
  featureEnv,
  iso,
  projectsRepo,
  writeProjectsCsv,
} from '../features/helpers.js';
import { dropSchemas, freshSchema, pgClient, pgUrl } from '../helpers/postgres.js';
import { tmpDir } from '../helpers/tmp-dir.js';

const schema = freshSchema();
const dir = tmpDir('ferry-feature-status-pg-');
let env: FeatureEnv;

beforeAll(async () => {
  env = await featureEnv(dir.path, pgClient(schema), `${pgUrl()}?schema=${schema}`);
});
afterAll(async () => {
  await env?.close();
  await dropSchemas(schema);
  dir.remove();
});

describe('feature view status on PostgreSQL', () => {
  it('reads the newest event time materialized, the last run and its totals, and a pipeline newer than both', async () => {
    writeProjectsCsv(dir.path, [
      { project_id: '1', created_on: iso(day(1)), title: 'A', description: 'a b', stars: '1' },
      { project_id: '2', created_on: iso(day(3)), title: 'B', description: 'c', stars: '2' },
      { project_id: '3', created_on: iso(day(2)), title: 'C', description: 'd', stars: 'many' },
    ]);
    const loaded = await env.apply(projectsRepo());
    const repo = loaded.repo;
    const noPipeline = { sql: env.sql, pipelineNewestEventMs: async () => null };

    const [before] = await featureViewsStatus(repo, noPipeline, day(4));
    expect(before).toMatchObject({
      name: 'project_text',
      lastEventMs: null,
      freshnessSeconds: null,
      stale: false,
      lastMaterialization: null,
      ttlSeconds: 30 * 86_400,
    });

    await env.materialize({ range: { startMs: day(0), endMs: day(2) } });
    const [ranged] = await featureViewsStatus(repo, noPipeline, day(4));
    // A range run raises no watermark: its chunks' newest event time counts.
    expect(ranged!.lastEventMs).toBe(day(1));
    expect(ranged!.freshnessSeconds).toBe(3 * 86_400);
    expect(ranged!.lastMaterialization).toMatchObject({ mode: 'range', status: 'done', rows: 3 });

    await env.materialize();
    const [full] = await featureViewsStatus(repo, noPipeline, day(40));
    expect(full!.lastEventMs).toBe(day(3));
    expect(full!.lastMaterialization).toMatchObject({ mode: 'full', status: 'done', rows: 3, bad: 1 });
    expect(full!.stale).toBe(true); // 37 days old, TTL 30 days

    // A pipeline writing the view with newer events makes it fresh.
    const withPipeline = {
      ...repo,
      pipelines: [
        { name: 'p', source: 'projects', views: ['project_text'], sinks: [{ kind: 'online' as const }] },
      ],
    };
    const [streamed] = await featureViewsStatus(
      withPipeline,
      { sql: env.sql, pipelineNewestEventMs: async (p) => (p === 'p' ? day(39) : null) },
      day(40),
    );
    expect(streamed).toMatchObject({
      lastEventMs: day(39),
      freshnessSeconds: 86_400,
      stale: false,
      pipelines: ['p'],
    });
  });
});
