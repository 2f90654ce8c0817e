// A logistic regression served by Ferry as a `custom` model: three numeric features in, the
// probability of each class and the predicted label out. Its weights live in weights.json beside
// this module; load(dir) reads them from the directory the bundle was unpacked to.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineModel } from 'ferry';

export default defineModel({
  signature: {
    inputs: [{ name: 'features', datatype: 'FP64', shape: [-1, 3], description: 'links, exclamations, capitals_ratio' }],
    outputs: [
      { name: 'probabilities', datatype: 'FP64', shape: [-1, 2], description: 'P(ham), P(spam)' },
      { name: 'label', datatype: 'BYTES', shape: [-1] },
    ],
  },
  classes: ['ham', 'spam'],

  async load(dir) {
    const { classes, coef, intercept } = JSON.parse(await readFile(join(dir, 'weights.json'), 'utf8'));
    if (!Array.isArray(coef) || coef.length !== 3 || typeof intercept !== 'number') {
      throw new Error('weights.json must hold "coef" (3 numbers) and "intercept"');
    }
    return {
      // Inputs arrive as plain arrays in row-major order: row r is data[3r .. 3r+2].
      predictBatch({ features }) {
        const rows = features.shape[0];
        const probabilities = [];
        const label = [];
        for (let r = 0; r < rows; r++) {
          let z = intercept;
          for (let j = 0; j < 3; j++) z += coef[j] * features.data[r * 3 + j];
          const spam = 1 / (1 + Math.exp(-z));
          probabilities.push(1 - spam, spam);
          label.push(spam >= 0.5 ? classes[1] : classes[0]);
        }
        return {
          probabilities: { datatype: 'FP64', shape: [rows, 2], data: probabilities },
          label: { datatype: 'BYTES', shape: [rows], data: label },
        };
      },
    };
  },
});
