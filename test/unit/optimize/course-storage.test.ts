/**
 * Issue 13 targets on the course data: a model trained (default params, no tuning) on the
 * stratified train part of dataset.csv, measured on the validation part (never holdout.csv).
 * int8: artifact <= 0.3 × the parent's format-1 bytes, weighted F1 drop <= 0.005; magnitude
 * pruning at 90 %: <= 0.2 ×, F1 drop <= 0.01.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../../../src/model/codec.js';
import type { TextClassifier } from '../../../src/model/text-classifier.js';
import { pruneMagnitude } from '../../../src/optimize/prune-magnitude.js';
import { quantizeTextClassifier } from '../../../src/optimize/quantize.js';
import { parseLabeledDataset } from '../../../src/train/dataset.js';
import { weightedMetrics } from '../../../src/train/metrics.js';
import { trainTextClassifier } from '../../../src/train/pipeline.js';
import { COURSE_DATASET, hasCourseData } from '../../helpers/course-data.js';

describe.skipIf(!hasCourseData)(`optimized storages on the course data (${COURSE_DATASET})`, () => {
  it('meet the size and F1 targets on the validation split', () => {
    const data = parseLabeledDataset(readFileSync(COURSE_DATASET), 'dataset.csv');
    // trainTextClassifier's held-out model: fitted on the stratified 80 %, the 20 % never seen.
    const { heldOut } = trainTextClassifier(data, { seed: 42, tune: false, refitOnAll: false });
    const parent = heldOut.model;
    const rows = heldOut.rows;
    const parentBytes = parent.toArtifact().length;
    const f1 = (m: TextClassifier) =>
      weightedMetrics(
        rows.map((r) => r.tag),
        m.predictBatch(rows).map((p) => p.prediction),
        m.classes,
      ).f1;
    const parentF1 = f1(parent);
    const measure = (model: TextClassifier) => {
      const bytes = model.toArtifact();
      const loaded = decodeModel(bytes) as TextClassifier;
      return { ratio: bytes.length / parentBytes, drop: parentF1 - f1(loaded) };
    };

    const int8 = measure(quantizeTextClassifier(parent, { dtype: 'int8' }).model);
    expect(int8.ratio).toBeLessThanOrEqual(0.3);
    expect(int8.drop).toBeLessThanOrEqual(0.005);

    const pruned = measure(pruneMagnitude(parent, 0.9).model);
    expect(pruned.ratio).toBeLessThanOrEqual(0.2);
    expect(pruned.drop).toBeLessThanOrEqual(0.01);
  }, 120_000);
});
