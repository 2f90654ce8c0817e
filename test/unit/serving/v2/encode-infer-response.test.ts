import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../../src/core/errors.js';
import type { Prediction } from '../../../../src/model/model.js';
import { TEXT_SIGNATURE } from '../../../../src/model/model.js';
import { DEFAULT_PARAMS, TextClassifier } from '../../../../src/model/text-classifier.js';
import { normalizeTextInputs, textInputsOf, textOutputs } from '../../../../src/model/text-tensors.js';
import { decodeInferRequest } from '../../../../src/serving/v2/decode-infer-request.js';
import {
  type EncodeInferResponseArgs,
  encodeInferResponse as encodeTensors,
} from '../../../../src/serving/v2/encode-infer-response.js';
import { v2InferResponseSchema } from '../../../../src/serving/v2/openapi-schemas.js';
import type { ResponseOutput } from '../../../../src/serving/v2/types.js';
import { parseLabeledDataset } from '../../../../src/train/dataset.js';
import { SAMPLE_DATASET_PATH } from '../../../../src/train/load-dataset.js';
import { expectFerryErrorSync } from '../../../helpers/expect-ferry-error.js';
import { newAjv, specValidator } from './oip-spec.js';

const CLASSES = ['computer-vision', 'mlops', 'natural-language-processing', 'other'] as const;

// Keys deliberately not in CLASSES order, so the test sees the columns follow `classes`.
const PREDICTIONS: Prediction[] = [
  {
    prediction: 'natural-language-processing',
    probabilities: { other: 0.1, 'natural-language-processing': 0.7, mlops: 0.05, 'computer-vision': 0.15 },
  },
  {
    prediction: 'computer-vision',
    probabilities: { 'computer-vision': 0.6, mlops: 0.2, 'natural-language-processing': 0.1, other: 0.1 },
  },
  {
    prediction: 'mlops',
    probabilities: { 'computer-vision': 0, mlops: 1, 'natural-language-processing': 0, other: 0 },
  },
];

const BASE = { modelName: 'tagifai', modelVersion: '3', classes: CLASSES, predictions: PREDICTIONS };

/** The text classifier's predictions as the service hands them to the encoder: output tensors. */
function encodeInferResponse(
  args: Omit<EncodeInferResponseArgs, 'signature' | 'outputs'> & { predictions: readonly Prediction[] },
) {
  const { predictions, ...rest } = args;
  return encodeTensors({
    ...rest,
    signature: TEXT_SIGNATURE,
    outputs: textOutputs(args.classes, predictions),
  });
}

const specResponse = specValidator('inference_response');
const ourResponse = newAjv().compile(v2InferResponseSchema);

function expectValid(response: unknown): void {
  expect(specResponse(response), JSON.stringify(specResponse.errors)).toBe(true);
  expect(ourResponse(response), JSON.stringify(ourResponse.errors)).toBe(true);
}

describe('encodeInferResponse', () => {
  it('answers the spec example, adapted: id echoed, only the requested output, shape [n, classes]', () => {
    // inference_rest.md: the request with "id": "42" asking for one output gets back that output only,
    // here "probabilities" as an FP32 [3, 4] tensor in flat row-major order.
    const response = encodeInferResponse({ ...BASE, id: '42', requestedOutputs: ['probabilities'] });
    expect(response).toEqual({
      model_name: 'tagifai',
      model_version: '3',
      id: '42',
      outputs: [
        {
          name: 'probabilities',
          shape: [3, 4],
          datatype: 'FP32',
          parameters: { classes: [...CLASSES] },
          data: [0.15, 0.05, 0.7, 0.1, 0.6, 0.2, 0.1, 0.1, 0, 1, 0, 0],
        },
      ],
    });
    expectValid(response);
  });

  it('returns label then probabilities when no outputs were requested, without an id', () => {
    const response = encodeInferResponse(BASE);
    expect(response).not.toHaveProperty('id');
    expect(response.outputs.map((o) => o.name)).toEqual(['label', 'probabilities']);
    expect(response.outputs[0]).toEqual({
      name: 'label',
      datatype: 'BYTES',
      shape: [3],
      data: ['natural-language-processing', 'computer-vision', 'mlops'],
    });
    expectValid(response);
  });

  it('follows the requested order and echoes an empty-string id', () => {
    const response = encodeInferResponse({ ...BASE, id: '', requestedOutputs: ['label'] });
    expect(response.id).toBe('');
    expect(response.outputs.map((o) => o.name)).toEqual(['label']);
    const both = encodeInferResponse({ ...BASE, requestedOutputs: ['probabilities', 'label'] });
    expect(both.outputs.map((o) => o.name)).toEqual(['probabilities', 'label']);
  });

  it('has element counts equal to the product of each shape', () => {
    for (const output of encodeInferResponse(BASE).outputs) {
      expect(output.data).toHaveLength(output.shape.reduce((a, b) => a * b, 1));
    }
  });

  it('does not share the classes array with the caller', () => {
    const classes: string[] = [...CLASSES];
    const response = encodeInferResponse({ ...BASE, classes });
    classes.push('mutated');
    expect(response.outputs[1]?.parameters).toEqual({ classes: [...CLASSES] });
  });

  it("refuses, as the model's failure, an output holding a non-finite number (JSON cannot carry it)", () => {
    const nan: Prediction = {
      prediction: 'mlops',
      probabilities: { 'computer-vision': Number.NaN, mlops: 1, 'natural-language-processing': 0, other: 0 },
    };
    expectFerryErrorSync(
      () => encodeInferResponse({ ...BASE, predictions: [nan] }),
      ErrorCode.MODEL_PREDICT_FAILED,
      502,
    );
    expectFerryErrorSync(
      () => encodeInferResponse({ ...BASE, requestedOutputs: ['logits'] }),
      ErrorCode.INTERNAL,
      500,
    );
  });

  it('round-trips through the real text classifier: decode, predict, encode', () => {
    const sample = parseLabeledDataset(readFileSync(SAMPLE_DATASET_PATH), 'sample');
    const model = TextClassifier.fit(
      sample.rows,
      sample.rows.map((r) => r.tag),
      DEFAULT_PARAMS,
    );
    const request = decodeInferRequest(
      {
        id: 'req-1',
        inputs: [
          { name: 'title', shape: [2, 1], datatype: 'BYTES', data: [['Object detection'], ['BERT for NER']] },
          { name: 'description', shape: [2], datatype: 'BYTES', data: ['YOLO in video', ''] },
        ],
      },
      { maxItems: 10, maxStringLength: 1000, maxTensorBytes: 1 << 20 },
    );
    const predictions = model.predictBatch(textInputsOf(normalizeTextInputs(request.inputs)));
    const response = encodeInferResponse({
      modelName: 'tagifai',
      modelVersion: '1',
      id: request.id,
      classes: model.classes,
      predictions,
      requestedOutputs: request.requestedOutputs,
    });
    expectValid(response);
    expect(response.outputs).toHaveLength(2);
    const [label, probabilities] = response.outputs as [ResponseOutput, ResponseOutput];
    expect(label.data).toEqual(predictions.map((p) => p.prediction));
    expect(probabilities.shape).toEqual([2, model.classes.length]);
    const k = model.classes.length;
    const rows = [0, 1].map((r) => (probabilities.data as number[]).slice(r * k, (r + 1) * k));
    for (const row of rows) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    // The argmax column, looked up through parameters.classes, is the label (no "other" threshold by default).
    const columns = probabilities.parameters?.classes as string[];
    rows.forEach((row, r) => {
      expect(columns[row.indexOf(Math.max(...row))]).toBe(label.data[r]);
    });
  });
});
