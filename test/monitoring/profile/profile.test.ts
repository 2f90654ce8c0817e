import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFerry } from '../../../src/app/open-ferry.js';
import {
  openProfileStore,
  profileFromFile,
  profileTrainedVersion,
} from '../../../src/app/open-monitoring.js';
import { bundleCustomModel } from '../../../src/model/kinds/custom/bundle.js';
import { observe } from '../../../src/monitoring/profile/observe.js';
import type { ReferenceProfileStore } from '../../../src/monitoring/profile/profile-store.js';
import { kindContextOf } from '../../../src/registry/load-model.js';
import { registerArtifact } from '../../../src/registry/register-artifact.js';
import { expectFerryError } from '../../helpers/expect-ferry-error.js';
import {
  createTestRegistry,
  MODEL,
  sampleDataset,
  type TestRegistry,
  trainSmall,
  V1_SPEC,
} from '../../helpers/serving.js';

const LINEAR = 'test/fixtures/custom-models/linear-logits.mjs';

describe('reference profiles (SQLite)', () => {
  let reg: TestRegistry;
  let ferry: Awaited<ReturnType<typeof openFerry>>;
  let profiles: ReferenceProfileStore;

  beforeAll(async () => {
    reg = await createTestRegistry({ versions: [V1_SPEC], production: 1 });
    ferry = await openFerry(reg.config);
    profiles = await openProfileStore(ferry);
  }, 120_000);
  afterAll(async () => {
    await ferry.close();
    await reg.close();
  });

  it('a trained text version: its validation split, the train part’s vocabulary, stored and read back', async () => {
    const outcome = trainSmall(V1_SPEC);
    const made = await profileTrainedVersion(
      profiles,
      { name: MODEL, version: 1 },
      outcome,
      sampleDataset().rows,
    );
    const stored = await profiles.get(MODEL, 1);
    expect(stored).toEqual(made);
    expect(made.rows).toBe(outcome.heldOut.rows.length);
    expect(Object.keys(made.features)).toEqual(['text_length', 'token_count']);
    expect(Object.keys(made.outputs)).toEqual(['confidence', 'predicted_label']);
    const length = made.features.text_length!;
    expect(length.type).toBe('numeric');
    if (length.type !== 'numeric') return;
    expect(length.count).toBe(made.rows);
    expect(length.sample).toHaveLength(made.rows);
    expect([...length.sample]).toEqual([...length.sample].sort((a, b) => a - b));
    const label = made.outputs.predicted_label!;
    if (label.type !== 'categorical') throw new Error('categorical expected');
    expect(Object.values(label.counts).reduce((a, b) => a + b, 0)).toBe(made.rows);
    for (const c of Object.keys(label.counts)) expect(outcome.model.classes).toContain(c);
    const confidence = made.outputs.confidence!;
    if (confidence.type !== 'numeric') throw new Error('numeric expected');
    expect(confidence.min).toBeGreaterThan(0);
    expect(confidence.max).toBeLessThanOrEqual(1);
    expect(made.labels?.count).toBe(made.rows);
    // Validation texts hold words the train part never had: a rate strictly between 0 and 1.
    expect(made.text?.oovRate).toBeGreaterThan(0);
    expect(made.text?.oovRate).toBeLessThan(0.5);
    expect(made.text?.sample).toHaveLength(made.rows);
    expect(made.text?.vocabulary.length).toBeGreaterThan(100);
    // The same extractor reads a logged item: one row of the reference observed as serving logs it.
    const o = observe(
      {
        title: 'a b',
        description: 'Transformers for text',
        prediction: 'x',
        probabilities: { x: 0.7, y: 0.3 },
        source: 'model',
      },
      { classifier: true },
    );
    expect(o.features).toEqual({ text_length: 25, token_count: 3 });
    expect(o.outputs).toEqual({ predicted_label: 'x', confidence: 0.7 });
  });

  it('a custom tensor model from a JSONL file: one feature per input column, one per output column', async () => {
    const version = await registerArtifact(
      ferry.registry,
      'linear',
      await bundleCustomModel(LINEAR),
      { kind: 'custom' },
      kindContextOf(reg.config),
    );
    const path = join(reg.home, 'inputs.jsonl');
    const lines = Array.from({ length: 300 }, (_, i) =>
      JSON.stringify({ id: i + 1, x: [i, i % 7, -i, 0.5] }),
    );
    lines.push(JSON.stringify({ id: 999, x: 'not a tensor' }));
    writeFileSync(path, `${lines.join('\n')}\n`);
    const { profile, rejected } = await profileFromFile(
      { registry: ferry.registry, profiles, config: reg.config },
      `linear/${version.version}`,
      path,
    );
    expect(rejected).toBe(1);
    expect(profile.rows).toBe(300);
    expect(Object.keys(profile.features)).toEqual(['x[0]', 'x[1]', 'x[2]', 'x[3]']);
    expect(Object.keys(profile.outputs)).toEqual(['logits[0]', 'logits[1]', 'logits[2]']);
    const x0 = profile.features['x[0]']!;
    if (x0.type !== 'numeric') throw new Error('numeric expected');
    expect(x0).toMatchObject({ count: 300, min: 0, max: 299, mean: 149.5 });
    // logits[2] is −x[0]: the model really ran on the rows.
    expect(profile.outputs['logits[2]']).toMatchObject({ min: -299, max: 0 });
    expect(profile.text).toBeUndefined();
    expect(await profiles.get('linear', version.version)).toEqual(profile);
  });

  it('a file with no usable row is refused, and an unknown version has no profile', async () => {
    const path = join(reg.home, 'empty.jsonl');
    writeFileSync(path, `${JSON.stringify({ id: 1, x: 'nope' })}\n`);
    await expectFerryError(
      profileFromFile({ registry: ferry.registry, profiles, config: reg.config }, 'linear/1', path),
      'FERRY_MONITOR_INVALID',
    );
    expect(await profiles.get(MODEL, 99)).toBeUndefined();
  });
});
