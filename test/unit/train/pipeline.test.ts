import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseLabeledDataset } from '../../../src/train/dataset.js';
import { evaluateModel } from '../../../src/train/evaluate.js';
import { SAMPLE_DATASET_PATH } from '../../../src/train/load-dataset.js';
import { trainTextClassifier } from '../../../src/train/pipeline.js';
import { QUICK_GRID } from '../../../src/train/tune.js';
import { COURSE_DATASET, hasCourseData } from '../../helpers/course-data.js';

const sample = parseLabeledDataset(readFileSync(SAMPLE_DATASET_PATH), 'sample');

describe('trainTextClassifier on the shipped sample', () => {
  const outcome = trainTextClassifier(sample, { seed: 42, folds: 3, grid: QUICK_GRID });

  it('reports validation, cross-validation and lineage figures', () => {
    expect(outcome.metrics.val_f1).toBeGreaterThan(0.6);
    expect(outcome.metrics.cv_f1).toBeGreaterThan(0.6);
    expect(outcome.dataset).toMatchObject({ rows: 160, trainRows: 128, validationRows: 32, seed: 42 });
    expect(outcome.dataset.classes).toEqual({
      'computer-vision': 40,
      mlops: 40,
      'natural-language-processing': 40,
      other: 40,
    });
    expect(outcome.tuning?.trials).toHaveLength(1);
  });

  it('is deterministic: same data and seed give the same model bytes', () => {
    const again = trainTextClassifier(sample, { seed: 42, folds: 3, grid: QUICK_GRID });
    expect(Buffer.from(again.model.toArtifact()).equals(Buffer.from(outcome.model.toArtifact()))).toBe(true);
  });

  it('splits by seed; the final refit on all rows no longer depends on the split', () => {
    const trainWith = (seed: number, refitOnAll: boolean) =>
      trainTextClassifier(sample, { seed, tune: false, refitOnAll }).model.toArtifact();
    const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
    expect(same(trainWith(7, false), trainWith(8, false))).toBe(false);
    expect(same(trainWith(7, true), trainWith(8, true))).toBe(true);
  });

  it('evaluates with the course report shape: overall, per class, slices, behavioural tests', () => {
    const report = evaluateModel(outcome.model, sample.rows);
    expect(Object.keys(report.per_class).sort()).toEqual([
      'computer-vision',
      'mlops',
      'natural-language-processing',
      'other',
    ]);
    expect(Object.keys(report.slices).sort()).toEqual(['nlp_llm', 'short_text']);
    expect(report.behavioral.results).toHaveLength(7);
    expect(report.behavioral.passed + report.behavioral.failed).toBe(7);
    expect(report.overall.num_samples).toBe(160);
  });
});

describe.runIf(hasCourseData)('trainTextClassifier on the course dataset', () => {
  it('chooses hyperparameters by cross-validation and beats 0.85 weighted F1 on validation', () => {
    const data = parseLabeledDataset(readFileSync(COURSE_DATASET), 'dataset.csv');
    const outcome = trainTextClassifier(data, { seed: 42, folds: 3, grid: QUICK_GRID });
    expect(outcome.metrics.val_f1).toBeGreaterThan(0.85);
    expect(outcome.dataset.rows).toBe(764);
  });
});
