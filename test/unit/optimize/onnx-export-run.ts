import * as ort from 'onnxruntime-node';
import type { TextInput } from '../../../src/model/model.js';
import type { TextClassifier } from '../../../src/model/text-classifier.js';
import { onnxFeatureFeeds } from '../../../src/optimize/onnx-export/feature-feeds.js';

/** Runs an exported graph on rows (featurized by onnxFeatureFeeds), as a user of the file would. */
export async function runExported(
  artifact: Uint8Array,
  model: TextClassifier,
  rows: readonly TextInput[],
): Promise<{ probabilities: Float32Array; labels: string[] }> {
  const session = await ort.InferenceSession.create(artifact);
  try {
    const feeds = onnxFeatureFeeds(model, rows);
    const dims = [feeds.rows, feeds.width];
    const out = await session.run({
      feature_indices: new ort.Tensor('int64', feeds.indices, dims),
      feature_values: new ort.Tensor('float32', feeds.values, dims),
    });
    return {
      probabilities: out.probabilities!.data as Float32Array,
      labels: [...(out.label!.data as string[])],
    };
  } finally {
    await session.release();
  }
}
