import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TEXT_CLASSIFIER_KIND } from '../../src/model/text-classifier.js';
import type { DistillOptions, TrainingRows } from '../../src/optimize/optimize-types.js';
import { runOptimize } from '../../src/optimize/run-optimize.js';
import type { LabeledProject } from '../../src/train/dataset.js';
import { newSeen } from './optimize-fixtures.js';
import { ids, quantize, recordingDistill, useOptimizeTest, writeCsv } from './optimize-setup.js';

const t = useOptimizeTest();
const versionCount = async () => (await t.registry.list('tagifai')).length;

describe('runOptimize', () => {
  it('registers the variant with its lineage, measured on the re-derived validation split; no alias moves', async () => {
    const seen = newSeen();
    const before = await versionCount();
    const { parent: p, variant, report } = await runOptimize(t.depsWith(seen), quantize);
    expect(p.version).toBe(t.parent.version.version);
    expect(variant).toMatchObject({
      name: 'tagifai',
      version: before + 1,
      aliases: [],
      kind: TEXT_CLASSIFIER_KIND,
    });
    expect(variant.params.lineage).toEqual({
      parent: { name: 'tagifai', version: p.version },
      method: 'quantize',
      options: { dtype: 'int8' },
    });
    expect(variant.params.optimization).toEqual({ decimals: 2 });
    expect(variant.tags).toEqual({ optimized_from: `tagifai/${p.version}`, optimize_method: 'quantize' });
    expect(variant.signature).toEqual(p.signature);
    expect((await t.registry.aliases('tagifai')).production).toBe(p.version);
    // The same rows as the training run's validation split, and they were seen (refit on all rows).
    expect(ids(seen.evalSets[0]!.rows)).toEqual(ids(t.parent.outcome.heldOut.rows));
    expect(seen.evalSets[0]!.seenInTraining).toBe(true);
    expect(report.evalSet).toMatchObject({
      rows: t.parent.outcome.heldOut.rows.length,
      seenInTraining: true,
    });
    expect(report.variants[0]!.ref).toBe(`tagifai/${variant.version}`);
    expect(seen.candidates[0]![1]!.ref).toBeNull(); // measured before it was registered
    expect(variant.metrics.eval_weighted_f1).toBe(report.variants[0]!.weightedF1);
    expect(variant.metrics.parent_eval_weighted_f1).toBe(report.parent.weightedF1);
    // Quantize trains nothing: no training rows are read.
    expect(seen.contexts[0]!.training).toBeNull();
    // The variant loads and predicts like its parent would.
    const stored = await t.registry.loadArtifact(`tagifai/${variant.version}`);
    expect(stored.bytes.byteLength).toBe(variant.artifactSize);
  });

  it('moves --alias to the new version and leaves production where it was', async () => {
    const { variant } = await runOptimize(t.depsWith(newSeen()), { ...quantize, alias: 'staging' });
    const aliases = await t.registry.aliases('tagifai');
    expect(aliases.staging).toBe(variant.version);
    expect(aliases.production).toBe(t.parent.version.version);
    expect(variant.aliases).toEqual(['staging']);
  });

  it('--compare measures the earlier variants of the same parent beside the new one', async () => {
    const first = await runOptimize(t.depsWith(newSeen()), quantize);
    const seen = newSeen();
    const { variant, report } = await runOptimize(t.depsWith(seen), { ...quantize, compare: true });
    const refs = report.variants.map((v) => v.ref);
    expect(refs[0]).toBe(`tagifai/${variant.version}`);
    expect(refs).toContain(`tagifai/${first.variant.version}`);
    // Only children of this parent, newest first, and never the new version twice.
    expect(new Set(refs).size).toBe(refs.length);
    const earlier = report.variants.slice(1);
    expect(earlier.every((v) => v.label.endsWith('(earlier)'))).toBe(true);
    expect(earlier.map((v) => Number(v.ref!.split('/')[1]))).toEqual(
      [...earlier.map((v) => Number(v.ref!.split('/')[1]))].sort((a, b) => b - a),
    );
    expect(seen.candidates[0]!.length).toBe(1 + report.variants.length);
  });

  it('fine-tunes on the training rows without the evaluation rows, by id and by identical text', async () => {
    const seen = newSeen();
    await runOptimize(t.depsWith(seen), {
      model: 'tagifai@production',
      method: 'prune',
      options: { method: 'magnitude', sparsity: 0.5, fineTune: true },
      seed: 1,
    });
    const held = t.parent.outcome.heldOut.rows;
    const training = seen.contexts[0]!.training!;
    expect(training.rows.length).toBe(t.parent.data.rows.length - held.length);
    const heldIds = new Set(held.map((r) => r.id));
    expect(training.rows.some((r) => heldIds.has(r.id))).toBe(false);

    // --data-loc with the evaluation texts under new ids: they are still left out.
    const copies = held.slice(0, 5).map((r, i) => ({ ...r, id: `copy-${i}` }));
    const extra = t.parent.data.rows.filter((r) => !heldIds.has(r.id)).slice(0, 20);
    const dataLoc = join(t.dir, 'with-copies.csv');
    await writeCsv(dataLoc, [...extra, ...copies]);
    const seen2 = newSeen();
    await runOptimize(t.depsWith(seen2), {
      model: 'tagifai@production',
      method: 'prune',
      options: { method: 'magnitude', sparsity: 0.5, fineTune: true },
      dataLoc,
      seed: 1,
    });
    expect(ids(seen2.contexts[0]!.training!.rows)).toEqual(ids(extra));
  });

  it('distills without the evaluation texts among the unlabeled texts', async () => {
    const got: { training?: TrainingRows; options?: DistillOptions } = {};
    const held = t.parent.outcome.heldOut.rows;
    const unlabeledLoc = join(t.dir, 'projects.csv');
    // Like projects.csv: every dataset text (the evaluation ones included) plus others.
    const others = [
      { id: 'u1', title: 'A new thing', description: 'Something unlabeled about graphs.', tag: '' },
    ];
    await writeCsv(unlabeledLoc, [...t.parent.data.rows, ...others] as LabeledProject[], [
      'id',
      'title',
      'description',
    ]);
    const { variant } = await runOptimize(t.depsWith(newSeen(), { distill: recordingDistill(t, got) }), {
      model: 'tagifai@production',
      method: 'distill',
      options: { student: { type: 'word', ngrams: [1, 2] }, temperature: 2, alpha: 0.5 },
      unlabeledLoc,
      seed: 1,
    });
    const heldTexts = new Set(held.map((r) => r.title));
    expect(got.training!.rows.some((r) => heldTexts.has(r.title))).toBe(false);
    expect(got.options!.unlabeled!.length).toBe(t.parent.data.rows.length - held.length + 1);
    expect(got.options!.unlabeled!.some((r) => heldTexts.has(r.title))).toBe(false);
    expect(variant.params.lineage).toMatchObject({
      method: 'distill',
      options: { temperature: 2, alpha: 0.5 },
    });
    // The student never saw those rows: a later optimization of it says so.
    const seen = newSeen();
    await runOptimize(t.depsWith(seen), { ...quantize, model: `tagifai/${variant.version}` });
    expect(seen.evalSets[0]!.seenInTraining).toBe(false);
    expect(ids(seen.evalSets[0]!.rows)).toEqual(ids(held));
  });
});
