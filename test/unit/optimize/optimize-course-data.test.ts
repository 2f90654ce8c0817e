import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../../../src/model/codec.js';
import type { TextModel } from '../../../src/model/model.js';
import { DEFAULT_PARAMS, TextClassifier } from '../../../src/model/text-classifier.js';
import { distill } from '../../../src/optimize/distill.js';
import { fineTune } from '../../../src/optimize/fine-tune.js';
import { pruneStructured } from '../../../src/optimize/prune-structured.js';
import { parseStudentSpec } from '../../../src/optimize/student-spec.js';
import { parseLabeledDataset } from '../../../src/train/dataset.js';
import { weightedMetrics } from '../../../src/train/metrics.js';
import { stratifiedSplit } from '../../../src/train/split.js';
import { COURSE_DATASET, hasCourseData } from '../../helpers/course-data.js';

// dataset.csv only (split 80/20, seed 42, as training does); holdout.csv is never read here.
describe.runIf(hasCourseData)('distillation and structured pruning on the course data', () => {
  const data = parseLabeledDataset(readFileSync(COURSE_DATASET), 'dataset.csv');
  const split = stratifiedSplit(
    data.rows.map((r) => r.tag),
    0.2,
    42,
  );
  const train = split.train.map((i) => data.rows[i]!);
  const val = split.test.map((i) => data.rows[i]!);
  const teacher = TextClassifier.fit(
    train,
    train.map((r) => r.tag),
    DEFAULT_PARAMS,
  );
  const f1 = (m: TextModel) =>
    weightedMetrics(
      val.map((r) => r.tag),
      m.predictBatch(val).map((p) => p.prediction),
      [...teacher.classes],
    ).f1;
  const teacherF1 = f1(teacher);

  it('distills a word-only student within 0.02 weighted F1 of the teacher with ~8x fewer features', async () => {
    const out = await distill(
      teacher,
      { source: 'train part', rows: train },
      {
        student: parseStudentSpec('word:1-2'),
        temperature: 2,
        alpha: 0.5,
        unlabeled: train.map((r) => ({ title: r.title, description: r.description })),
      },
      { training: null, seed: 42, cacheDir: '/tmp' },
    );
    const student = decodeModel(out.artifact);
    expect(teacherF1).toBeGreaterThan(0.8);
    expect(f1(student)).toBeGreaterThanOrEqual(teacherF1 - 0.02);
    expect(Number(out.details.features)).toBeLessThan(teacher.featureCount / 5);
  }, 60_000);

  it('prunes the vocabulary to 1000 features and, fine-tuned, still predicts like the teacher', () => {
    const { model: pruned } = pruneStructured(teacher, 1000);
    const tuned = fineTune(pruned, { source: 'train part', rows: train }, { keepZeros: false });
    expect(tuned.featureCount).toBe(1000);
    expect(teacher.featureCount).toBeGreaterThan(5000);
    expect(f1(tuned)).toBeGreaterThanOrEqual(teacherF1 - 0.03);
    const t = teacher.predictBatch(val);
    const agree = tuned.predictBatch(val).filter((p, i) => p.prediction === t[i]!.prediction).length;
    expect(agree / val.length).toBeGreaterThan(0.85);
  }, 60_000);
});
