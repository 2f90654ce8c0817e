import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TextInput } from '../../../src/model/model.js';
import { exportTextClassifierOnnx } from '../../../src/optimize/onnx-export/text-classifier-graph.js';
import { parseLabeledDataset } from '../../../src/train/dataset.js';
import { trainTextClassifier } from '../../../src/train/pipeline.js';
import { COURSE_DATASET, hasCourseData } from '../../helpers/course-data.js';
import { runExported } from './onnx-export-run.js';

/*
 * The equivalence check on the course data: a model trained on dataset.csv (nothing is fitted
 * or chosen on holdout.csv; its rows are only run through both paths) and its exported graph agree
 * on every row of both files.
 */
describe.runIf(hasCourseData)('ONNX export on the course data', () => {
  it('float32: the same top-1 label on every dataset.csv and holdout.csv row, probabilities within 1e-5', async () => {
    const data = parseLabeledDataset(readFileSync(COURSE_DATASET), 'dataset.csv');
    const holdout = parseLabeledDataset(
      readFileSync(join(dirname(COURSE_DATASET), 'holdout.csv')),
      'holdout.csv',
    );
    const { model } = trainTextClassifier(data, { seed: 42, tune: false, refitOnAll: false });
    const K = model.classes.length;
    const artifact = exportTextClassifierOnnx(model, { dtype: 'float32' });
    for (const [name, rows] of [
      ['dataset.csv', data.rows],
      ['holdout.csv', holdout.rows],
    ] as const) {
      const inputs: TextInput[] = rows.map((r) => ({ title: r.title, description: r.description }));
      const expected = model.predictBatch(inputs);
      let worst = 0;
      const labels: string[] = [];
      for (let start = 0; start < inputs.length; start += 256) {
        const batch = inputs.slice(start, start + 256);
        const out = await runExported(artifact, model, batch);
        labels.push(...out.labels);
        batch.forEach((_, r) => {
          const p = expected[start + r]!.probabilities;
          model.classes.forEach((c, k) => {
            worst = Math.max(worst, Math.abs(out.probabilities[r * K + k]! - p[c]!));
          });
        });
      }
      expect(labels, name).toEqual(expected.map((p) => p.prediction));
      expect(worst, name).toBeLessThan(1e-5);
    }
  }, 300_000);
});
