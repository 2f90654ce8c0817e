import { describe, expect, it } from 'vitest';
import { TEXT_SIGNATURE } from '../../../../src/model/model.js';
import { modelMetadata, serverMetadata } from '../../../../src/serving/v2/metadata.js';
import { v2ModelMetadataSchema, v2ServerMetadataSchema } from '../../../../src/serving/v2/openapi-schemas.js';
import { newAjv, specValidator } from './oip-spec.js';

const ajv = newAjv();

describe('serverMetadata', () => {
  it('is $metadata_server_response: name, version, no extensions', () => {
    const body = serverMetadata('ferry', '0.1.0');
    expect(body).toEqual({ name: 'ferry', version: '0.1.0', extensions: [] });
    expect(specValidator('metadata_server_response')(body)).toBe(true);
    expect(ajv.validate(v2ServerMetadataSchema, body)).toBe(true);
  });
});

describe('modelMetadata', () => {
  it('is $metadata_model_response with the text signature and -1 for variable dimensions', () => {
    const body = modelMetadata('tagifai', ['1', '2', '3'], TEXT_SIGNATURE);
    expect(body).toEqual({
      name: 'tagifai',
      versions: ['1', '2', '3'],
      platform: 'ferry',
      inputs: [
        { name: 'title', datatype: 'BYTES', shape: [-1] },
        { name: 'description', datatype: 'BYTES', shape: [-1] },
      ],
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, -1] },
      ],
    });
    expect(specValidator('metadata_model_response')(body)).toBe(true);
    expect(ajv.validate(v2ModelMetadataSchema, body)).toBe(true);
  });

  it('leaves versions out when there are none and accepts another platform', () => {
    const body = modelMetadata('tagifai', [], TEXT_SIGNATURE, 'onnx_onnxv1');
    expect(body).not.toHaveProperty('versions');
    expect(body.platform).toBe('onnx_onnxv1');
    expect(specValidator('metadata_model_response')(body)).toBe(true);
  });

  it('copies shapes so the response cannot alter the signature', () => {
    const body = modelMetadata('tagifai', ['1'], TEXT_SIGNATURE);
    body.inputs[0]?.shape.push(7);
    body.versions?.push('9');
    expect(TEXT_SIGNATURE.inputs[0]?.shape).toEqual([-1]);
    expect(modelMetadata('tagifai', ['1'], TEXT_SIGNATURE).versions).toEqual(['1']);
  });
});
