import { describe, expect, it } from 'vitest';
import { isClassifier, observe } from '../../../src/monitoring/profile/observe.js';
import { TRUNCATION_MARKER } from '../../../src/ports/prediction-log-sink.js';

describe('observe: one extractor of logged items', () => {
  it('a tensor classifier: inputs per column, BYTES as categories, label and the top probability', () => {
    const o = observe(
      {
        inputs: {
          x: { datatype: 'FP32', shape: [3], data: [1.5, Number.NaN, -2] },
          city: { datatype: 'BYTES', shape: [], data: ['Lyon'] },
          flag: { datatype: 'BOOL', shape: [], data: [true] },
        },
        outputs: {
          label: { datatype: 'BYTES', shape: [], data: ['cat'] },
          probabilities: { datatype: 'FP32', shape: [2], data: [0.2, 0.8] },
        },
        source: 'model',
      },
      { classifier: true },
    );
    expect(o.features).toEqual({ 'x[0]': 1.5, 'x[1]': null, 'x[2]': -2, city: 'Lyon', flag: 1 });
    expect(o.outputs).toEqual({ predicted_label: 'cat', confidence: 0.8 });
    expect(o.text).toBeUndefined();
  });

  it('logits without a label: argmax as the label, the largest score as confidence; a regressor per column', () => {
    const item = {
      inputs: { x: { datatype: 'FP32', shape: [1], data: [0] } },
      outputs: { logits: { datatype: 'FP32', shape: [3], data: [0.1, 3, -1] } },
      source: 'model' as const,
    };
    expect(observe(item, { classifier: true }).outputs).toEqual({
      predicted_label: 'argmax:1',
      confidence: 3,
    });
    expect(observe(item, { classifier: false }).outputs).toEqual({
      'logits[0]': 0.1,
      'logits[1]': 3,
      'logits[2]': -1,
    });
  });

  it('a text cut by the log’s byte cap is measured without its marker; columns beyond 64 are not read', () => {
    const o = observe(
      {
        title: `Deep learning${TRUNCATION_MARKER}`,
        description: '',
        prediction: 'a',
        probabilities: { a: 1 },
        source: 'cache',
      },
      { classifier: true },
    );
    expect(o.text?.tokens).toEqual(['deep', 'learning']);
    expect(o.features.text_length).toBe('Deep learning '.length);
    const wide = observe(
      {
        inputs: { px: { datatype: 'UINT8', shape: [100], data: new Array(100).fill(7) } },
        outputs: {},
        source: 'model',
      },
      { classifier: false },
    );
    expect(Object.keys(wide.features)).toHaveLength(64);
    expect(wide.features['px[63]']).toBe(7);
  });

  it('isClassifier: classes, or a label output', () => {
    const sig = (outputs: string[]) => ({
      inputs: [],
      outputs: outputs.map((name) => ({ name, datatype: 'FP32' as const, shape: [-1] })),
    });
    expect(isClassifier({ classes: ['a', 'b'], signature: sig(['y']) })).toBe(true);
    expect(isClassifier({ classes: [], signature: sig(['label', 'probabilities']) })).toBe(true);
    expect(isClassifier({ classes: [], signature: sig(['y']) })).toBe(false);
  });
});
