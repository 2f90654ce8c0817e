import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { schemaStatus } from '../../src/core/migrations.js';
import type { FeatureRepoDef } from '../../src/features/feature-definitions.js';
import { OFFLINE_STORE_MIGRATIONS, writeOfflineRows } from '../../src/features/offline-store.js';
import { repoObjects } from '../../src/features/repo-objects.js';
import { FEATURE_REPO_MIGRATIONS } from '../../src/features/repo-schema.js';
import { expectFerryError } from '../helpers/expect-ferry-error.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { day, type FeatureEnv, featureEnv, projectsRepo, writeProjectsCsv } from './helpers.js';

let dir: { path: string; remove(): void };
let env: FeatureEnv;
beforeEach(async () => {
  dir = tmpDir('ferry-repo-store-');
  writeProjectsCsv(dir.path, []);
  const db = join(dir.path, 'ferry.db');
  env = await featureEnv(dir.path, new SqliteClient({ path: db }), `sqlite:${db}`);
});
afterEach(async () => {
  await env.close();
  dir.remove();
});

const objects = (edit: (r: { views: Array<Record<string, unknown>> }) => void = () => {}) => {
  const r = projectsRepo() as { views: Array<Record<string, unknown>> };
  edit(r);
  return repoObjects(r as unknown as FeatureRepoDef);
};

describe('FeatureRepoStore', () => {
  it('records its two schemas; applies, stores every object and its history; a second apply of the same is empty', async () => {
    const status = await schemaStatus(env.sql, [FEATURE_REPO_MIGRATIONS, OFFLINE_STORE_MIGRATIONS]);
    expect(status.map((s) => [s.store, s.current])).toEqual([
      ['features', 1],
      ['feature_values', 1],
    ]);
    const first = await env.repoStore.apply(objects(), { file: 'a.json', nowMs: day(1) });
    expect(first.applyId).toBe(1);
    expect(first.plan.changes).toHaveLength(4);
    const applied = await env.repoStore.applied();
    expect(applied.map((o) => `${o.kind}:${o.name}`)).toEqual([
      'entity:project',
      'source:projects',
      'view:project_text',
      'service:tagger',
    ]);
    expect(applied).toEqual(objects());
    const again = await env.repoStore.plan(objects());
    expect(again.changes).toEqual([]);
    const second = await env.repoStore.apply(objects(), { file: 'a.json' });
    expect(second.plan.unchanged).toBe(4);
    const history = await env.repoStore.history();
    expect(history.map((h) => [h.id, h.file, h.plan.changes.length])).toEqual([
      [2, 'a.json', 0],
      [1, 'a.json', 4],
    ]);
    expect(history[1]!.appliedAt).toBe(new Date(day(1)).toISOString());
  });

  it('deletes offline values (and online rows) of invalidated views only, and removes deleted objects', async () => {
    await env.repoStore.apply(objects(), { file: 'a.json', online: env.online });
    const row = { view: 'project_text', entityKey: '1', eventTimeMs: day(1), values: { title: 'x' } };
    await writeOfflineRows(env.sql, [row, { ...row, view: 'other' }]);
    await env.online.writeMany([row]);
    const r = await env.repoStore.apply(
      objects((v) => {
        v.views[0]!.schema = [{ name: 'title', type: 'string' }];
        v.views[0]!.transform = { kind: 'row' };
      }).filter((o) => o.kind !== 'service'),
      { file: 'b.json', online: env.online },
    );
    expect(r.plan.changes.map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual([
      'change view project_text',
      'remove service tagger',
    ]);
    expect(r.offlineDeleted).toEqual({ project_text: 1 });
    expect(r.onlineDeleted).toEqual({ project_text: 1 });
    expect((await env.offline('other')).length).toBe(1);
    expect((await env.repoStore.applied()).map((o) => o.name)).toEqual([
      'project',
      'projects',
      'project_text',
    ]);
  });

  it('refuses an apply based on a plan that is no longer current, and changes nothing', async () => {
    const plan = await env.repoStore.plan(objects());
    await env.repoStore.apply(
      objects((v) => (v.views[0]!.ttl = '1d')),
      { file: 'other.json' },
    );
    const e = await expectFerryError(
      env.repoStore.apply(objects(), { file: 'a.json', basedOn: plan.basedOn }),
      'FERRY_FEATURES_INVALID',
    );
    expect(e.message).toMatch(/changed since the plan was made/);
    expect((await env.repoStore.appliedRepo()).repo.views[0]!.ttl).toBe('1d');
    expect(await env.repoStore.history()).toHaveLength(1);
  });

  it('keeps a TypeScript map as its source text; the applied repository leaves it out', async () => {
    const withMap = objects((v) => {
      v.views[0]!.transform = { kind: 'row', map: (row: Record<string, unknown>) => ({ title: row.title }) };
    });
    await env.repoStore.apply(withMap, { file: 'f.ts' });
    const [view] = (await env.repoStore.applied()).filter((o) => o.kind === 'view');
    expect((view!.definition.transform as { map: { $function: string } }).map.$function).toMatch(
      /row\.title/,
    );
    const { repo } = await env.repoStore.appliedRepo();
    expect(repo.views[0]!.transform).toEqual({ kind: 'row' });
  });
});
