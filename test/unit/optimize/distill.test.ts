import { describe, expect, it } from 'vitest';
import { FerryError } from '../../../src/core/errors.js';
import { decodeModel } from '../../../src/model/codec.js';
import type { Model } from '../../../src/model/model.js';
import { DEFAULT_PARAMS, TextClassifier } from '../../../src/model/text-classifier.js';
import { distill } from '../../../src/optimize/distill.js';
import { parseStudentSpec } from '../../../src/optimize/student-spec.js';
import { softenProbabilities } from '../../../src/optimize/teacher-labels.js';
import { syntheticProjects } from './synthetic-texts.js';

const rows = syntheticProjects(120, 2);
const heldOut = syntheticProjects(60, 3);
const teacher = TextClassifier.fit(
  rows,
  rows.map((r) => r.tag),
  DEFAULT_PARAMS,
);
const training = { source: 'synthetic', rows };
const ctx = { training, seed: 1, cacheDir: '/tmp' };
const accuracy = (m: { predictBatch: TextClassifier['predictBatch'] }) =>
  m.predictBatch(heldOut).filter((p, i) => p.prediction === heldOut[i]!.tag).length / heldOut.length;

describe('distill', () => {
  it.each([
    ['word:1-2', 'ferry.text-classifier.tfidf-logreg'],
    ['char:3-4', 'ferry.text-classifier.tfidf-logreg'],
    ['hashed:2^12:1-1', 'online-text-classifier'],
  ])('distills a %s student (%s) that agrees with the teacher', async (spec, kind) => {
    const out = await distill(
      teacher,
      training,
      { student: parseStudentSpec(spec), temperature: 2, alpha: 0.5 },
      ctx,
    );
    expect(out.kind).toBe(kind);
    const student = decodeModel(out.artifact);
    expect(student.kind).toBe(kind);
    expect([...student.classes]).toEqual([...teacher.classes]);
    expect(out.details).toMatchObject({
      student: expect.stringContaining(spec.split(':')[0]!),
      rowsLabeled: 120,
      rowsUnlabeled: 0,
    });
    expect(out.details.features).toBeGreaterThan(0);
    expect(out.details.fitIterations).toBeGreaterThan(0);
    const agree = student
      .predictBatch(heldOut)
      .filter((p, i) => p.prediction === teacher.predictBatch([heldOut[i]!])[0]!.prediction).length;
    expect(agree / heldOut.length).toBeGreaterThan(0.8);
    expect(accuracy(student)).toBeGreaterThan(accuracy(teacher) - 0.1);
  });

  it('uses only word features for a word student and only char features for a char student', async () => {
    const word = decodeModel(
      (
        await distill(
          teacher,
          training,
          { student: parseStudentSpec('word:1-1'), temperature: 1, alpha: 0.5 },
          ctx,
        )
      ).artifact,
    ) as TextClassifier;
    expect(word.params.charNgrams).toEqual([0, 0]);
    expect(word.tfidf.wordFeatures).toBe(word.featureCount);
    const char = decodeModel(
      (
        await distill(
          teacher,
          training,
          { student: parseStudentSpec('char:3-3'), temperature: 1, alpha: 0.5 },
          ctx,
        )
      ).artifact,
    ) as TextClassifier;
    expect(char.params.wordNgrams).toEqual([0, 0]);
    expect(char.tfidf.wordFeatures).toBe(0);
  });

  it('learns unlabeled texts from the teacher alone (alpha 0: no true label used at all)', async () => {
    const unlabeled = heldOut.map((r) => ({ title: r.title, description: r.description }));
    const out = await distill(
      teacher,
      { source: 'none', rows: [] },
      { student: parseStudentSpec('word:1-1'), temperature: 2, alpha: 0, unlabeled },
      ctx,
    );
    expect(out.details).toMatchObject({ rowsLabeled: 0, rowsUnlabeled: 60 });
    const student = decodeModel(out.artifact);
    const agree = student
      .predictBatch(heldOut)
      .filter((p, i) => p.prediction === teacher.predictBatch([heldOut[i]!])[0]!.prediction).length;
    expect(agree / heldOut.length).toBeGreaterThan(0.9);
  });

  it.each([
    [{ temperature: 0, alpha: 0.5 }, /temperature/u],
    [{ temperature: Number.POSITIVE_INFINITY, alpha: 0.5 }, /temperature/u],
    [{ temperature: 2, alpha: 1.5 }, /alpha/u],
    [{ temperature: 2, alpha: Number.NaN }, /alpha/u],
  ])('refuses %j', async (opts, message) => {
    const run = distill(teacher, training, { student: parseStudentSpec('word'), ...opts }, ctx);
    await expect(run).rejects.toThrow(message);
    await expect(run).rejects.toMatchObject({ code: 'FERRY_OPTIMIZE_INVALID' });
  });

  it('refuses alpha 1 when no row has a label (nothing to learn)', async () => {
    const unlabeled = [{ title: 'a', description: 'b' }];
    const run = distill(
      teacher,
      { source: 'none', rows: [] },
      { student: parseStudentSpec('word'), temperature: 2, alpha: 1, unlabeled },
      ctx,
    );
    await expect(run).rejects.toMatchObject({ code: 'FERRY_OPTIMIZE_INVALID' });
  });

  it('refuses a teacher without the text contract', async () => {
    const notText: Model = {
      kind: 'onnx',
      classes: [],
      signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [] },
      infer: async () => ({}),
    };
    const run = distill(
      notText,
      training,
      { student: parseStudentSpec('word'), temperature: 2, alpha: 0.5 },
      ctx,
    );
    await expect(run).rejects.toBeInstanceOf(FerryError);
    await expect(run).rejects.toMatchObject({ code: 'FERRY_OPTIMIZE_UNSUPPORTED' });
  });
});

describe('softenProbabilities', () => {
  it('is the identity at T = 1, flattens for T > 1 and sharpens for T < 1', () => {
    const p = Float64Array.from([0.7, 0.2, 0.1]);
    const same = softenProbabilities(p, 3, 1);
    for (let c = 0; c < 3; c++) expect(same[c]).toBeCloseTo(p[c]!, 12);
    const flat = softenProbabilities(p, 3, 4);
    const sharp = softenProbabilities(p, 3, 0.25);
    expect(flat[0]!).toBeLessThan(0.7);
    expect(flat[2]!).toBeGreaterThan(0.1);
    expect(sharp[0]!).toBeGreaterThan(0.95);
    // p^(1/T) renormalised: the ratio of two classes is the teacher's ratio to the power 1/T.
    expect(flat[0]! / flat[1]!).toBeCloseTo((0.7 / 0.2) ** 0.25, 10);
    expect(flat.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('does not underflow at a tiny temperature and turns an empty row uniform', () => {
    const out = softenProbabilities(Float64Array.from([0.6, 0.4, 0, 0, 0]), 5, 0.001);
    expect(out[0]).toBeCloseTo(1, 12);
    expect(Number.isFinite(out[1]!)).toBe(true);
    expect(Array.from(out.subarray(2))).toEqual([0, 0, 0]);
    const zero = softenProbabilities(new Float64Array(2), 2, 2);
    expect(Array.from(zero)).toEqual([0.5, 0.5]);
  });
});
