import type { TextInput } from '../../model/model.js';
import type { TextClassifier } from '../../model/text-classifier.js';

/** The two inputs of the exported graph for a batch of rows, as flat row-major arrays. */
export interface OnnxFeatureFeeds {
  /** feature_indices INT64 [rows, width]: a row's features, then the padding index F. */
  indices: BigInt64Array;
  /** feature_values FP32 [rows, width]: the tf-idf values, 0 in the padding slots. */
  values: Float32Array;
  rows: number;
  /** Slots per row: the most features any row of the batch has (at least 1). */
  width: number;
}

/**
 * The preprocessing the exported graph leaves to its caller: the model's own featurization
 * (tokenizer, FNV-hashed word and character n-grams, tf-idf with block l2 norms) of each row,
 * padded to the longest row with index F (= features), which points at the graph's row of zeros.
 */
export function onnxFeatureFeeds(model: TextClassifier, rows: readonly TextInput[]): OnnxFeatureFeeds {
  const features = rows.map((row) => model.features(row));
  const width = Math.max(1, ...features.map((f) => f.indices.length));
  const indices = new BigInt64Array(rows.length * width).fill(BigInt(model.featureCount));
  const values = new Float32Array(rows.length * width);
  features.forEach((f, r) => {
    for (let k = 0; k < f.indices.length; k++) {
      indices[r * width + k] = BigInt(f.indices[k]!);
      values[r * width + k] = f.values[k]!;
    }
  });
  return { indices, values, rows: rows.length, width };
}
