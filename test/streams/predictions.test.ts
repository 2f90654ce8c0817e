/**
 * The course app as a stream: a `project-created` event {id, project_id, title, description,
 * created_on} → a row view (the cleaned texts) → a prediction of its tag by the registered text
 * classifier, stored in the prediction store per project. Then the alias moves and the pipeline
 * follows it.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEventStream, openSqlClient } from '../../src/adapters/factory.js';
import { SqlOnlineStore } from '../../src/adapters/sql/sql-online-store.js';
import { createProducer } from '../../src/app/open-streams.js';
import { PredictionStore } from '../../src/batch/prediction-store.js';
import type { FeatureRepoDef } from '../../src/features/feature-definitions.js';
import { inputFingerprint } from '../../src/model/input-fingerprint.js';
import { cleanText } from '../../src/model/text/clean.js';
import type { EventStream } from '../../src/ports/event-stream.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { loadTextModel } from '../../src/registry/load-model.js';
import { planPipeline } from '../../src/streams/pipeline-plan.js';
import { type PipelineHandle, runPipeline } from '../../src/streams/run-pipeline.js';
import {
  createTestRegistry,
  MODEL,
  sampleDataset,
  type TestRegistry,
  V1_SPEC,
  V2_SPEC,
} from '../helpers/serving.js';
import { waitFor } from './helpers.js';

const repo: FeatureRepoDef = {
  entities: [{ name: 'project', joinKeys: ['project_id'] }],
  sources: [{ name: 'projects', kind: 'stream', stream: 'project-created', timestampField: 'created_on' }],
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
        features: {
          title: { fn: 'clean_text', args: ['title'] },
          description: { fn: 'clean_text', args: ['description'] },
        },
      },
    },
  ],
  pipelines: [
    {
      name: 'tag_projects',
      source: 'projects',
      views: ['project_text'],
      sinks: [{ kind: 'online' }, { kind: 'predictions', model: `${MODEL}@production` }],
    },
  ],
};

describe('predictions sink: the course app', () => {
  let reg: TestRegistry;
  let sql: SqlClient;
  let stream: EventStream;
  let handle: PipelineHandle | undefined;

  beforeEach(async () => {
    reg = await createTestRegistry({ versions: [V1_SPEC, V2_SPEC], production: 1 });
    sql = openSqlClient(reg.config.db);
    await sql.init();
    stream = openEventStream(`sqlite:${join(reg.home, 'streams.db')}`);
    await stream.init();
  });
  afterEach(async () => {
    await handle?.stop();
    handle = undefined;
    await stream.close();
    await sql.close();
    await reg.close();
  });

  it('predicts each project from its cleaned texts and stores it; follows the alias', async () => {
    const online = new SqlOnlineStore({ sql });
    await online.init();
    const store = new PredictionStore({ sql });
    await store.init();
    const rows = sampleDataset().rows.slice(0, 120);
    const t0 = Date.parse('2024-05-01T00:00:00Z');
    const events = rows.map((r, i) => ({
      id: `created-${r.id}`,
      project_id: `p${r.id}`,
      title: r.title,
      description: r.description,
      created_on: new Date(t0 + i * 1000).toISOString(),
    }));
    // Nothing to predict from: processed, but no prediction (counted as a refused row).
    events.push({
      id: 'created-empty',
      project_id: 'p-empty',
      title: '!!!',
      description: '',
      created_on: new Date(t0).toISOString(),
    });
    const producer = createProducer(stream, { keyField: 'project_id', timeField: 'created_on' });
    await producer.publish('project-created', events);
    handle = await runPipeline(
      planPipeline(repo, 'tag_projects'),
      { stream, sql, online, predictions: { registry: reg.registry, store, refreshMs: 0 } },
      { batchSize: 50 },
    );
    await waitFor(() => handle!.metrics().processed >= events.length, 'every event');
    const m = handle.metrics();
    expect(m).toMatchObject({ processed: events.length, deadLettered: 0, sinkErrors: 1 });
    expect(m.sinkRows.predictions).toBe(rows.length);

    const { model } = await loadTextModel(reg.registry, `${MODEL}@production`);
    const inputs = rows.map((r) => ({ title: cleanText(r.title), description: cleanText(r.description) }));
    const expected = model.predictBatch(inputs);
    for (const [i, r] of rows.entries()) {
      const stored = await store.get(MODEL, `p${r.id}`);
      expect(stored, r.id).toMatchObject({
        version: 1,
        prediction: expected[i]!.prediction,
        inputSha256: inputFingerprint(inputs[i]!),
        jobId: 'stream:tag_projects',
        source: 'batch',
      });
      expect(stored!.probabilities).toEqual(expected[i]!.probabilities);
    }
    expect(await store.get(MODEL, 'p-empty')).toBeUndefined();
    // A predictions sink needs each entity's current values: the row view keeps them.
    const [kept] = await sql.query<{ n: unknown }>(
      "SELECT COUNT(*) AS n FROM ferry_pipeline_state WHERE view = 'project_text'",
    );
    expect(Number(kept!.n)).toBe(events.length);
    // The features are online too.
    const [text] = await online.readMany('project_text', [`p${rows[0]!.id}`]);
    expect(text?.values).toEqual(inputs[0]);

    // The alias moves: the next events are predicted by version 2.
    await reg.setAlias(2);
    await producer.publish('project-created', [
      {
        id: 'created-new',
        project_id: 'p-new',
        title: 'Transformers for text classification',
        description: 'BERT fine-tuning',
        created_on: new Date(t0 + 500_000).toISOString(),
      },
    ]);
    await waitFor(async () => (await store.get(MODEL, 'p-new')) !== undefined, 'the new prediction');
    expect(await store.get(MODEL, 'p-new')).toMatchObject({ version: 2 });
  });
});
