/** examples/features stays a working repository: it applies, materializes and builds its training set. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { trainingSetFromFiles } from '../../src/app/training-set-files.js';
import { loadDefinitions } from '../../src/features/load-definitions.js';
import { repoObjects } from '../../src/features/repo-objects.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { type FeatureEnv, featureEnv } from './helpers.js';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/features');
const dir = tmpDir('ferry-features-example-');
let env: FeatureEnv;
beforeAll(async () => {
  const db = join(dir.path, 'ferry.db');
  env = await featureEnv(dir.path, new SqliteClient({ path: db }), `sqlite:${db}`);
});
afterAll(async () => {
  await env.close();
  dir.remove();
});

describe('examples/features', () => {
  it('applies, materializes (one bad row) and gives the training set of its README', async () => {
    const loaded = await loadDefinitions(join(EXAMPLE, 'features.json'));
    await env.repoStore.apply(repoObjects(loaded.repo), { file: loaded.file });
    const s = await env.materialize({}, loaded);
    expect(s.views.map((v) => [v.view, v.rows, v.bad, v.offlineWritten])).toEqual([
      ['project_text', 10, 0, 10],
      ['project_stats', 10, 1, 9],
    ]);
    const out = join(dir.path, 'train.csv');
    await trainingSetFromFiles(env.sql, (await env.repoStore.appliedRepo()).repo, {
      entities: join(EXAMPLE, 'training-rows.csv'),
      out,
      service: 'tagger',
    });
    const rows = readFileSync(out, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('id,event_timestamp,label,text,description_words,stars');
    expect(rows.map((r) => r.split(',').slice(-2).join(','))).toEqual([
      'description_words,stars',
      '11,42',
      '10,57',
      '12,8',
      '9,15',
      ',',
      ',',
    ]);
  });
});
