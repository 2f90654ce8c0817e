import { quantizeWeightsInt8 } from '../../model/heads/int8-weights.js';
import type { TextClassifier } from '../../model/text-classifier.js';
import {
  DataType,
  encodeModel,
  floatTensor,
  int8Tensor,
  int64Tensor,
  node,
  stringTensor,
  tensorValue,
} from './onnx-builder.js';

/** Names of the exported graph's inputs and outputs: the contract `onnxFeatureFeeds` fills. */
const ONNX_FEATURE_INDICES = 'feature_indices';
const ONNX_FEATURE_VALUES = 'feature_values';
const ONNX_PROBABILITIES = 'probabilities';
const ONNX_LABEL = 'label';

export type OnnxExportDtype = 'float32' | 'int8';

/**
 * The head's weights with one extra row of zeros at index F (= features): the padding index of
 * `feature_indices`, so that a padded slot adds nothing to the logits whatever its value.
 */
function paddedWeights(model: TextClassifier): Float32Array {
  const dense = model.head.denseWeights();
  const padded = new Float32Array(dense.length + model.classes.length);
  padded.set(dense);
  return padded;
}

/**
 * The text classifier from its features to its outputs, as an ONNX graph:
 * MatMul(feature_values as [n, 1, L], Gather(W, feature_indices) [n, L, K]), + bias, Softmax:
 * `probabilities` FP32 [n, K]; `label` BYTES [n] is the class of the ArgMax (first of equal ones,
 * as the model's own decision), or the model's "other" label when the top probability is below its
 * threshold. The featurization (tokenizer, FNV-hashed n-grams, tf-idf) stays outside: see
 * docs/optimization.md, "ONNX export", and `onnxFeatureFeeds`.
 * int8: W is stored as int8 with one scale per class (the shared rule, quantizeWeightsInt8); the
 * gathered rows are cast to float and the per-class scale is applied to the sums.
 * A batched MatMul rather than Mul then ReduceSum (which writes a second [n, L, K] tensor and reads
 * it again): on the course model, batch 256, 0.62-0.66 ms against 1.5-6.8 ms per run on the same
 * loaded 2-core VM (bench/onnx-export.ts).
 */
export function exportTextClassifierOnnx(
  model: TextClassifier,
  opts: { dtype: OnnxExportDtype },
): Uint8Array {
  const F = model.featureCount;
  const K = model.classes.length;
  const weights = paddedWeights(model);
  const nodes = [];
  const initializers = [
    floatTensor('bias', [K], Float32Array.from(model.head.bias)),
    int64Tensor('slot_axis', [1], [1]),
    stringTensor('classes', [K], model.classes),
  ];
  if (opts.dtype === 'int8') {
    const q = quantizeWeightsInt8(weights, K);
    initializers.push(
      int8Tensor('weights', [F + 1, K], q.values),
      floatTensor('class_scales', [K], q.scales),
    );
    nodes.push(
      node('Gather', ['weights', ONNX_FEATURE_INDICES], ['gathered_int8'], { axis: 0 }),
      node('Cast', ['gathered_int8'], ['gathered'], { to: DataType.FLOAT }),
    );
  } else {
    initializers.push(floatTensor('weights', [F + 1, K], weights));
    nodes.push(node('Gather', ['weights', ONNX_FEATURE_INDICES], ['gathered'], { axis: 0 }));
  }
  nodes.push(
    node('Unsqueeze', [ONNX_FEATURE_VALUES, 'slot_axis'], ['slot_values']),
    node('MatMul', ['slot_values', 'gathered'], ['summed_row']),
    node('Squeeze', ['summed_row', 'slot_axis'], ['summed']),
  );
  if (opts.dtype === 'int8') nodes.push(node('Mul', ['summed', 'class_scales'], ['scaled']));
  nodes.push(
    node('Add', [opts.dtype === 'int8' ? 'scaled' : 'summed', 'bias'], ['logits']),
    node('Softmax', ['logits'], [ONNX_PROBABILITIES], { axis: -1 }),
    node('ArgMax', [ONNX_PROBABILITIES], ['top_class'], { axis: 1, keepdims: 0 }),
  );
  const { otherThreshold, otherLabel } = model.params;
  if (otherThreshold > 0 && model.classes.includes(otherLabel)) {
    // The model's decide(): its "other" label when not confident enough.
    initializers.push(
      floatTensor('other_threshold', [], Float32Array.of(otherThreshold)),
      stringTensor('other_label', [], [otherLabel]),
    );
    nodes.push(
      node('Gather', ['classes', 'top_class'], ['top_label'], { axis: 0 }),
      node('ReduceMax', [ONNX_PROBABILITIES], ['top_probability'], { axes: [-1], keepdims: 0 }),
      node('Less', ['top_probability', 'other_threshold'], ['unsure']),
      node('Where', ['unsure', 'other_label', 'top_label'], [ONNX_LABEL]),
    );
  } else {
    nodes.push(node('Gather', ['classes', 'top_class'], [ONNX_LABEL], { axis: 0 }));
  }
  return encodeModel({
    name: 'ferry_text_classifier_head',
    docString:
      'Ferry text classifier (tf-idf + logistic regression) from its features: feature_indices ' +
      `(padded with ${F}) and feature_values, made by Ferry's onnxFeatureFeeds.`,
    nodes,
    initializers,
    inputs: [
      tensorValue(ONNX_FEATURE_INDICES, DataType.INT64, ['batch', 'slots']),
      tensorValue(ONNX_FEATURE_VALUES, DataType.FLOAT, ['batch', 'slots']),
    ],
    outputs: [
      tensorValue(ONNX_PROBABILITIES, DataType.FLOAT, ['batch', K]),
      tensorValue(ONNX_LABEL, DataType.STRING, ['batch']),
    ],
    metadata: {
      'ferry.source_kind': model.kind,
      'ferry.classes': JSON.stringify(model.classes),
      'ferry.features': String(F),
      'ferry.padding_index': String(F),
      'ferry.dtype': opts.dtype,
    },
  });
}
