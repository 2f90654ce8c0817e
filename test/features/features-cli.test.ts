/** `ferry features …` as a user runs it: a project directory with features.json and a CSV. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers/tmp-dir.js';
import { runFerry } from './cli.js';
import { projectsRepo, writeProjectsCsv } from './helpers.js';

const dir = tmpDir('ferry-features-cli-');
const env = { FERRY_HOME: join(dir.path, '.ferry'), FERRY_DB: undefined, FERRY_ONLINE_STORE: undefined };
const ferry = (...args: string[]) => runFerry(args, env, dir.path);
const recent = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString();

beforeAll(() => {
  writeProjectsCsv(dir.path, [
    {
      project_id: '1',
      created_on: recent(2),
      title: 'Transformers',
      description: 'BERT for text',
      stars: '4.5',
    },
    { project_id: '2', created_on: recent(40), title: 'GANs', description: 'images', stars: '3' },
    { project_id: '3', created_on: 'not a date', title: 'Bad', description: 'row', stars: '1' },
  ]);
  writeFileSync(join(dir.path, 'features.json'), JSON.stringify(projectsRepo(), null, 2));
});
afterAll(() => dir.remove());

describe('ferry features', () => {
  it('apply prints the plan; dry runs change nothing; a destructive plan needs --yes', async () => {
    const dry = await ferry('features', 'apply', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('plan: 4 to add, 0 to change, 0 to remove, 0 unchanged');
    expect((await ferry('features', 'list')).stdout).toMatch(/nothing applied yet/);
    const applied = await ferry('features', 'apply');
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/applied \(apply #1\)/);

    const m = await ferry('features', 'materialize');
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toMatch(
      /view project_text \(full\): 3 rows read, 3 in range, 1 bad; 2 offline values written, 2 online rows/,
    );
    expect(m.stdout).toMatch(/bad row at line 4: the event time "not a date" is not ISO 8601/);

    const repo = projectsRepo() as { views: Array<{ schema: unknown[] }> };
    repo.views[0]!.schema.push({ name: 'extra', type: 'string' });
    writeFileSync(join(dir.path, 'features.json'), JSON.stringify(repo, null, 2));
    const refused = await ferry('features', 'apply');
    expect(refused.code).toBe(2);
    expect(refused.stdout).toContain('~ view project_text (schema)');
    expect(refused.stdout).toContain(
      '! view project_text: offline values, online rows, materialization progress (its schema changed)',
    );
    expect(refused.stderr).toMatch(/FERRY_CLI_USAGE: the plan deletes data \(see above\): rerun with --yes/);
    const yes = await ferry('features', 'apply', '--yes', '--json');
    expect(yes.code, yes.stderr).toBe(0);
    expect(JSON.parse(yes.stdout)).toMatchObject({
      applied: true,
      applyId: 2,
      offlineDeleted: { project_text: 2 },
      onlineDeleted: { project_text: 2 },
    });
    writeFileSync(join(dir.path, 'features.json'), JSON.stringify(projectsRepo(), null, 2));
    expect((await ferry('features', 'apply', '--yes')).code).toBe(0);
    expect((await ferry('features', 'materialize')).code).toBe(0);
  });

  it('list, describe, get and training-set read what was applied and materialized', async () => {
    const list = await ferry('features', 'list');
    expect(list.stdout).toContain('project_text  [project] from projects, row, ttl 30d');
    const described = await ferry('features', 'describe', 'tagger', '--json');
    expect(JSON.parse(described.stdout)).toEqual([
      expect.objectContaining({
        kind: 'service',
        name: 'tagger',
        definition: { name: 'tagger', features: ['project_text:clean', 'project_text:stars'] },
      }),
    ]);
    const unknown = await ferry('features', 'describe', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /FERRY_FEATURES_NOT_FOUND: nothing named "nope" is applied; known: entity project/,
    );

    const get = await ferry(
      'features',
      'get',
      '--service',
      'tagger',
      '--entity',
      'project_id=1',
      '--entity',
      'project_id=2',
      '--entity',
      'project_id=9',
      '--json',
    );
    expect(get.code, get.stderr).toBe(0);
    const statuses = (
      JSON.parse(get.stdout) as {
        results: Array<{ features: Record<string, { status: string; value: unknown }> }>;
      }
    ).results.map((r) => [r.features['project_text:stars']!.status, r.features['project_text:stars']!.value]);
    expect(statuses).toEqual([
      ['PRESENT', 4.5],
      ['EXPIRED', null],
      ['NOT_FOUND', null],
    ]);
    const text = await ferry(
      'features',
      'get',
      '--features',
      'project_text:clean',
      '--entity',
      'project_id=1',
    );
    expect(text.stdout).toMatch(/project_text:clean = "transformers bert text" {2}\(PRESENT, /);

    writeFileSync(join(dir.path, 'rows.csv'), `project_id,ts,label\n1,${recent(1)},x\n1,${recent(3)},y\n`);
    const ts = await ferry(
      'features',
      'training-set',
      '--entities',
      'rows.csv',
      '--features',
      'project_text:stars',
      '--timestamp-column',
      'ts',
      '--out',
      'train.csv',
    );
    expect(ts.code, ts.stderr).toBe(0);
    expect(
      readFileSync(join(dir.path, 'train.csv'), 'utf8')
        .split('\n')
        .map((l) => l.split(',').at(-1)),
    ).toEqual(['stars', '4.5', '', '']);
    const noFeatures = await ferry('features', 'training-set', '--entities', 'rows.csv', '--out', 'x.csv');
    expect(noFeatures.code).toBe(2);
  });

  it('reports every definition problem with file:line:column and exits 1', async () => {
    writeFileSync(
      join(dir.path, 'broken.json'),
      '{\n  "entities": [],\n  "sources": [],\n  "views": [{"name": "v", "ttl": 0}]\n}\n',
    );
    const r = await ferry('features', 'apply', '--file', 'broken.json');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /FERRY_FEATURES_INVALID: broken\.json: \d+ problems in the feature definitions, nothing was changed:/,
    );
    expect(r.stderr).toContain('broken.json:4:34: views[0].ttl: a TTL of 0 is not allowed');
    expect(r.stderr).toContain('broken.json:4:13: views[0].entities: "entities" is required');
  });
});
