import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/core/errors.js';
import { checkOutputs } from '../../../src/model/check-outputs.js';
import type { Signature } from '../../../src/model/tensor.js';
import { expectFerryErrorSync } from '../../helpers/expect-ferry-error.js';

const SIGNATURE: Signature = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
  outputs: [
    { name: 'score', datatype: 'FP32', shape: [-1, 1] },
    { name: 'count', datatype: 'UINT8', shape: [-1] },
    { name: 'flag', datatype: 'BOOL', shape: [-1] },
    { name: 'label', datatype: 'BYTES', shape: [-1] },
  ],
};

const good = () => ({
  score: { datatype: 'FP32', shape: [2, 1], data: [0.5, -1] },
  count: { datatype: 'UINT8', shape: [2], data: [0, 255] },
  flag: { datatype: 'BOOL', shape: [2], data: [true, false] },
  label: { datatype: 'BYTES', shape: [2], data: ['a', 'b'] },
});

function failure(outputs: unknown, rows = 2): string {
  const e = expectFerryErrorSync(
    () => checkOutputs(outputs, SIGNATURE, rows),
    ErrorCode.MODEL_PREDICT_FAILED,
  );
  return e.message;
}

describe('checkOutputs', () => {
  it('returns the signature outputs, drops others, copies typed arrays into plain arrays', () => {
    const out = checkOutputs(
      { ...good(), score: { datatype: 'FP32', shape: [2, 1], data: new Float32Array([0.5, -1]) }, extra: 1 },
      SIGNATURE,
      2,
    );
    expect(Object.keys(out)).toEqual(['score', 'count', 'flag', 'label']);
    expect(out.score!.data).toEqual([0.5, -1]);
    expect(Array.isArray(out.score!.data)).toBe(true);
  });

  it('names the tensor and what is wrong with it', () => {
    const { label: _, ...noLabel } = good();
    expect(failure(noLabel)).toBe('model output "label" is missing');
    expect(failure({ ...good(), score: { datatype: 'FP64', shape: [2, 1], data: [0, 0] } })).toContain(
      '"score" has datatype "FP64", the signature says FP32',
    );
    expect(failure({ ...good(), score: { datatype: 'FP32', shape: [2], data: [0, 0] } })).toContain(
      '"score" has shape [2], the signature says [-1,1]',
    );
    expect(failure({ ...good(), score: { datatype: 'FP32', shape: [2, 1], data: [0] } })).toContain(
      '"score" has 1 elements, its shape [2,1] needs 2',
    );
    expect(
      failure({ ...good(), score: { datatype: 'FP32', shape: [2, 1], data: [0, Number.NaN] } }),
    ).toContain('"score" element 1 is not finite');
    expect(failure({ ...good(), count: { datatype: 'UINT8', shape: [2], data: [0, 256] } })).toContain(
      '"count" element 1 is not an integer from 0 to 255',
    );
    expect(failure({ ...good(), flag: { datatype: 'BOOL', shape: [2], data: [1, 0] } })).toContain(
      '"flag" element 0 is not a boolean',
    );
    expect(failure({ ...good(), label: { datatype: 'BYTES', shape: [2], data: ['a', 2] } })).toContain(
      '"label" element 1 is not a string',
    );
    expect(failure(good(), 3)).toContain('"score" has 2 rows for a batch of 3');
    expect(failure(null)).toBe('model outputs must be an object of tensors by name');
  });
});
