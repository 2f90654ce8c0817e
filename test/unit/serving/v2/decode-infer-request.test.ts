import { describe, expect, it } from 'vitest';
import { ErrorCode as Codes, ErrorCode, FerryError } from '../../../../src/core/errors.js';
import { checkInputs } from '../../../../src/model/check-inputs.js';
import { TEXT_SIGNATURE, type TextInput } from '../../../../src/model/model.js';
import { normalizeTextInputs, textInputsOf } from '../../../../src/model/text-tensors.js';
import {
  type DecodeInferRequestOptions,
  decodeInferRequest as decodeTensors,
} from '../../../../src/serving/v2/decode-infer-request.js';
import { expectFerryErrorSync } from '../../../helpers/expect-ferry-error.js';
import { specValidator } from './oip-spec.js';

const OPTS = { maxItems: 4, maxStringLength: 50, maxTensorBytes: 1 << 20 };
const V2_INPUT_NAMES = ['title', 'description'];
const V2_OUTPUT_NAMES = ['label', 'probabilities'];

/**
 * What a v2 request to the text classifier goes through: the protocol's decoding, then the checks
 * the prediction service makes once it knows the version is a text model (its signature).
 */
function decodeInferRequest(
  body: unknown,
  opts: DecodeInferRequestOptions,
): { id?: string; items: TextInput[]; requestedOutputs?: string[]; parameters?: Record<string, unknown> } {
  const { inputs, ...rest } = decodeTensors(body, opts);
  const normal = normalizeTextInputs(inputs);
  checkInputs(TEXT_SIGNATURE, normal, true, { code: Codes.V2_INVALID_REQUEST, maxItems: opts.maxItems });
  for (const name of rest.requestedOutputs ?? []) {
    if (!V2_OUTPUT_NAMES.includes(name))
      throw new FerryError(Codes.V2_INVALID_REQUEST, `unknown output "${name}"`);
  }
  return { ...rest, items: textInputsOf(normal) };
}
const INVALID = ErrorCode.V2_INVALID_REQUEST;

function bytes(name: string, data: unknown, shape: unknown = [Array.isArray(data) ? data.length : 1]) {
  return { name, shape, datatype: 'BYTES', data };
}

function rejects(body: unknown, opts = OPTS) {
  return expectFerryErrorSync(() => decodeInferRequest(body, opts), INVALID, 400);
}

describe('decodeInferRequest: the spec example, adapted', () => {
  // inference_rest.md "Inference Request Examples", with input0/input1/output0 renamed to Ferry's
  // tensors and the datatypes made BYTES (the example's UINT32/BOOL tensors are not text).
  const adapted = {
    id: '42',
    inputs: [
      {
        name: 'title',
        shape: [2, 1],
        datatype: 'BYTES',
        data: ['Transfer learning with transformers', 'YOLO object detection'],
      },
      {
        name: 'description',
        shape: [2],
        datatype: 'BYTES',
        data: ['Text classification.', 'Real-time detection.'],
      },
    ],
    outputs: [
      {
        name: 'label',
      },
    ],
  };

  it('is a valid inference_request per the OpenAPI file', () => {
    expect(specValidator('inference_request')(adapted)).toBe(true);
  });

  it('decodes to items, id and requested outputs', () => {
    expect(decodeInferRequest(adapted, OPTS)).toEqual({
      id: '42',
      items: [
        { title: 'Transfer learning with transformers', description: 'Text classification.' },
        { title: 'YOLO object detection', description: 'Real-time detection.' },
      ],
      requestedOutputs: ['label'],
    });
  });

  it('refuses the example verbatim: unknown input names and non-BYTES datatypes', () => {
    const verbatim = {
      id: '42',
      inputs: [
        { name: 'input0', shape: [2, 2], datatype: 'UINT32', data: [1, 2, 3, 4] },
        { name: 'input1', shape: [3], datatype: 'BOOL', data: [true] },
      ],
      outputs: [{ name: 'output0' }],
    };
    expect(specValidator('inference_request')(verbatim)).toBe(true);
    rejects(verbatim);
    // Even renamed, the example's tensors are not BYTES, and input1 has 1 element for shape [3].
    rejects({ inputs: [{ ...verbatim.inputs[0], name: 'title' }] });
    rejects({ inputs: [{ ...verbatim.inputs[1], name: 'title', datatype: 'BYTES', data: ['x'] }] });
  });

  it('uses the same tensor names as TEXT_SIGNATURE', () => {
    expect([...V2_INPUT_NAMES]).toEqual(TEXT_SIGNATURE.inputs.map((t) => t.name));
    expect([...V2_OUTPUT_NAMES]).toEqual(TEXT_SIGNATURE.outputs.map((t) => t.name));
  });
});

describe('decodeInferRequest: accepted forms', () => {
  it('defaults description to empty strings and omits absent optional fields', () => {
    expect(decodeInferRequest({ inputs: [bytes('title', ['a', 'b'])] }, OPTS)).toEqual({
      items: [
        { title: 'a', description: '' },
        { title: 'b', description: '' },
      ],
    });
  });

  it('reads flat and nested data the same way, for shape [n, 1]', () => {
    const flat = decodeInferRequest({ inputs: [bytes('title', ['a', 'b'], [2, 1])] }, OPTS);
    const nested = decodeInferRequest({ inputs: [bytes('title', [['a'], ['b']], [2, 1])] }, OPTS);
    expect(nested).toEqual(flat);
    expect(nested.items.map((i) => i.title)).toEqual(['a', 'b']);
  });

  it('accepts inputs in any order, the maximum item count and a string at the length limit', () => {
    const long = 'x'.repeat(OPTS.maxStringLength);
    const out = decodeInferRequest(
      {
        inputs: [bytes('description', ['1', '2', '3', long]), bytes('title', ['a', 'b', 'c', 'd'])],
      },
      OPTS,
    );
    expect(out.items).toHaveLength(OPTS.maxItems);
    expect(out.items[3]).toEqual({ title: 'd', description: long });
  });

  it('passes request parameters through and keeps unknown extension fields harmless', () => {
    const out = decodeInferRequest(
      {
        parameters: { content_type: 'str', binary_data_output: false },
        inputs: [{ ...bytes('title', ['a']), parameters: { content_type: 'str' } }],
        outputs: [{ name: 'probabilities', parameters: { binary_data: true } }, { name: 'label' }],
        extension_field: { anything: 1 },
      },
      OPTS,
    );
    expect(out.parameters).toEqual({ content_type: 'str', binary_data_output: false });
    expect(out.requestedOutputs).toEqual(['probabilities', 'label']);
  });

  it('treats an empty outputs list as "all outputs"', () => {
    expect(decodeInferRequest({ inputs: [bytes('title', ['a'])], outputs: [] }, OPTS)).not.toHaveProperty(
      'requestedOutputs',
    );
  });

  it('keeps empty strings and non-ASCII text as they are', () => {
    const out = decodeInferRequest({ inputs: [bytes('title', ['', 'Détection d’objets 🚀'])] }, OPTS);
    expect(out.items.map((i) => i.title)).toEqual(['', 'Détection d’objets 🚀']);
  });
});

describe('decodeInferRequest: rejections (FERRY_V2_INVALID_REQUEST, 400)', () => {
  const title = bytes('title', ['a', 'b']);

  it('refuses a body that is not an object', () => {
    for (const body of [null, undefined, 'x', 42, [], [title]]) rejects(body);
  });

  it('refuses missing, non-array and empty inputs', () => {
    rejects({});
    rejects({ inputs: title });
    rejects({ inputs: [] });
    rejects({ inputs: [null] });
    rejects({ inputs: ['title'] });
  });

  it('refuses a non-string id and non-object parameters', () => {
    rejects({ id: 42, inputs: [title] });
    rejects({ id: null, inputs: [title] });
    rejects({ parameters: [], inputs: [title] });
    rejects({ parameters: 'x', inputs: [title] });
    rejects({ inputs: [{ ...title, parameters: 1 }] });
    rejects({ inputs: [title], outputs: [{ name: 'label', parameters: null }] });
  });

  it('requires title and refuses unknown, nameless and duplicate inputs', () => {
    rejects({ inputs: [bytes('description', ['a'])] });
    rejects({ inputs: [title, bytes('tags', ['a', 'b'])] });
    rejects({ inputs: [{ shape: [1], datatype: 'BYTES', data: ['a'] }] });
    rejects({ inputs: [{ ...title, name: 7 }] });
    const dup = rejects({ inputs: [title, bytes('title', ['c', 'd'])] });
    expect(dup.details).toEqual({ field: 'inputs[1].name' });
  });

  it('refuses datatypes other than BYTES', () => {
    for (const datatype of ['bytes', 'STRING', 'FP16', undefined, 1]) {
      const error = rejects({ inputs: [{ ...title, datatype }] });
      expect(error.details).toEqual({ field: 'inputs[0].datatype' });
    }
    // v2 datatypes other models take: the strings are not numbers, so "data" is what is wrong.
    for (const datatype of ['FP32', 'INT32']) {
      expect(rejects({ inputs: [{ ...title, datatype }] }).details).toEqual({ field: 'inputs[0].data' });
    }
    // Well-formed FP32, refused by the text classifier's signature, which names the tensor.
    const wrongType = rejects({
      inputs: [{ name: 'title', shape: [2], datatype: 'FP32', data: [1.5, 2.5] }],
    });
    expect(wrongType.details).toEqual({ tensor: 'title' });
    rejects({ inputs: [{ name: 'title', shape: [2], datatype: 'INT32', data: [1, 2] }] });
  });

  it('refuses shapes that are not arrays of non-negative integers', () => {
    for (const shape of [undefined, 2, '2', [-1], [1.5], ['2'], [null], [2 ** 53]]) {
      rejects({ inputs: [{ ...title, shape }] });
    }
  });

  it('refuses shapes other than [n] and [n, 1]', () => {
    rejects({ inputs: [bytes('title', ['a'], [])] });
    rejects({ inputs: [bytes('title', ['a', 'b'], [1, 2])] });
    rejects({ inputs: [bytes('title', ['a', 'b'], [2, 1, 1])] });
  });

  it('refuses an element count that differs from the shape', () => {
    const error = rejects({ inputs: [bytes('title', ['a', 'b', 'c'], [2])] });
    expect(error.details).toEqual({ field: 'inputs[0].data' });
    rejects({ inputs: [bytes('title', ['a'], [2])] });
    rejects({ inputs: [bytes('title', ['a', 'b', 'c'], [2, 1])] });
  });

  it('refuses nesting that does not follow the shape', () => {
    // Nested deeper than a 1-D shape.
    rejects({ inputs: [bytes('title', [['a'], ['b']], [2])] });
    // A row with two elements where the shape says one.
    rejects({ inputs: [bytes('title', [['a', 'b'], ['c']], [2, 1])] });
    // A mix of rows and bare scalars.
    rejects({ inputs: [bytes('title', [['a'], 'b'], [2, 1])] });
    // Too many rows, too few rows, too deep.
    rejects({ inputs: [bytes('title', [['a'], ['b'], ['c']], [2, 1])] });
    rejects({ inputs: [bytes('title', [['a']], [2, 1])] });
    rejects({ inputs: [bytes('title', [[['a']], [['b']]], [2, 1])] });
  });

  it('refuses data that is not an array', () => {
    rejects({ inputs: [bytes('title', 'a', [1])] });
    rejects({ inputs: [{ name: 'title', shape: [1], datatype: 'BYTES' }] });
  });

  it('refuses title and description with different item counts', () => {
    const error = rejects({ inputs: [title, bytes('description', ['x', 'y', 'z'])] });
    expect(error.details).toEqual({ tensor: 'description' });
    rejects({ inputs: [bytes('description', ['x']), title] });
  });

  it('refuses elements that are not strings', () => {
    for (const element of [1, 1.5, true, null, { text: 'a' }]) {
      rejects({ inputs: [bytes('title', ['a', element])] });
      rejects({ inputs: [title, bytes('description', [element, 'b'])] });
    }
  });

  it('refuses 0 items and more than maxItems', () => {
    rejects({ inputs: [bytes('title', [], [0])] });
    rejects({ inputs: [bytes('title', [], [0, 1])] });
    const tooMany = Array.from({ length: OPTS.maxItems + 1 }, (_, i) => `t${i}`);
    rejects({ inputs: [bytes('title', tooMany)] });
    rejects({
      inputs: [
        bytes(
          'title',
          tooMany.map((t) => [t]),
          [tooMany.length, 1],
        ),
      ],
    });
    // The limit is read from the shape, so a huge declared batch fails without the data being walked.
    const error = rejects({ inputs: [bytes('title', [], [1_000_000])] });
    expect(error.details).toEqual({ field: 'inputs[0].shape' });
  });

  it('refuses a string longer than maxStringLength, in either input', () => {
    const long = 'x'.repeat(OPTS.maxStringLength + 1);
    rejects({ inputs: [bytes('title', ['a', long])] });
    rejects({ inputs: [title, bytes('description', [long, 'b'])] });
  });

  it('refuses unknown, nameless and duplicate requested outputs', () => {
    rejects({ inputs: [title], outputs: [{ name: 'output0' }] });
    rejects({ inputs: [title], outputs: [{ name: 'label' }, { name: 'logits' }] });
    rejects({ inputs: [title], outputs: [{}] });
    rejects({ inputs: [title], outputs: ['label'] });
    rejects({ inputs: [title], outputs: { name: 'label' } });
    rejects({ inputs: [title], outputs: [{ name: 'label' }, { name: 'label' }] });
  });

  it('refuses the binary tensor data extension (binary_data_size)', () => {
    // A binary input carries its size in parameters and no "data": the binary error must win.
    const binaryInput = {
      name: 'title',
      shape: [2],
      datatype: 'BYTES',
      parameters: { binary_data_size: 16 },
    };
    const error = rejects({ inputs: [binaryInput] });
    expect(error.details).toEqual({ field: 'inputs[0].parameters.binary_data_size' });
    rejects({ inputs: [{ ...title, parameters: { binary_data_size: 0 } }] });
    rejects({ parameters: { binary_data_size: 16 }, inputs: [title] });
    rejects({ inputs: [title], outputs: [{ name: 'label', parameters: { binary_data_size: 4 } }] });
  });

  it('names the offending field in details (messages are for people, not for tests)', () => {
    const error = rejects({ inputs: [title, { ...bytes('description', ['x', 'y']), datatype: 'FP32' }] });
    expect(error.details).toEqual({ field: 'inputs[1].data' });
  });
});
