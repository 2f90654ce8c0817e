import { ErrorCode, FerryError } from '../../core/errors.js';
import { checkIdentifier } from '../../core/text-guard.js';
import {
  DATATYPES,
  type Datatype,
  integerRange,
  isDatatype,
  isFloat,
  type NamedTensors,
  nonFiniteOfText,
  type Tensor,
} from '../../model/tensor.js';

export interface DecodeInferRequestOptions {
  /** Upper bound on n, the number of items (rows) in one request. */
  maxItems: number;
  /** Upper bound on each BYTES element, in UTF-16 code units (String#length), like validateTextInput. */
  maxStringLength: number;
  /** FERRY_MAX_TENSOR_BYTES: the data all inputs declare (from their shapes), checked before it is read. */
  maxTensorBytes: number;
}

export interface DecodedInferRequest {
  id?: string;
  /** The tensors as sent, checked for JSON form, datatype ranges and size; the signature is checked once the version is known. */
  inputs: NamedTensors;
  /** Absent when the client asked for no particular outputs: then every output is returned. */
  requestedOutputs?: string[];
  parameters?: Record<string, unknown>;
}

/**
 * Triton's binary tensor extension announces raw bytes after the JSON header with this parameter.
 * Ferry only speaks the JSON representation, so this key is refused wherever it appears.
 */
const BINARY_DATA_SIZE = 'binary_data_size';

function invalid(field: string, message: string): FerryError {
  return new FerryError(ErrorCode.V2_INVALID_REQUEST, message, { details: { field } });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON type name for messages: `typeof` alone would call arrays and null "object". */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value === undefined) return 'nothing';
  return typeof value;
}

function show(value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // Absurdly deep client input overflows the stack; the type is enough for the message.
    return jsonType(value);
  }
  if (text === undefined) return jsonType(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function checkParameters(value: unknown, path: string, label: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw invalid(path, `${label} must be an object, got ${jsonType(value)}`);
  if (Object.hasOwn(value, BINARY_DATA_SIZE)) {
    throw invalid(
      `${path}.${BINARY_DATA_SIZE}`,
      `${label} has "${BINARY_DATA_SIZE}": binary tensor data is not supported; ` +
        'send the tensor as JSON in "data" (BYTES elements as JSON strings)',
    );
  }
  return value;
}

/**
 * Flattens `data` into row-major leaves. The spec allows exactly two layouts: flat, or nested in the
 * tensor's natural shape; anything in between is refused rather than guessed at.
 */
function flattenTensorData(
  data: unknown[],
  shape: readonly number[],
  where: string,
  path: string,
): unknown[] {
  const expected = shape.reduce((a, b) => a * b, 1);
  const flat = !data.some(Array.isArray);
  if (flat) {
    if (data.length !== expected) {
      throw invalid(
        `${path}.data`,
        `${where}: shape ${show(shape)} needs ${expected} elements, "data" has ${data.length}`,
      );
    }
    return data;
  }
  const leaves: unknown[] = [];
  const walk = (level: unknown[], depth: number, at: string): void => {
    const dim = shape[depth]!;
    if (level.length !== dim) {
      throw invalid(
        `${path}.data`,
        `${where}: data${at} has ${level.length} elements, shape ${show(shape)} needs ${dim} at dimension ${depth}`,
      );
    }
    const last = depth === shape.length - 1;
    level.forEach((element, i) => {
      const here = `${at}[${i}]`;
      if (last) {
        if (Array.isArray(element)) {
          throw invalid(
            `${path}.data`,
            `${where}: data${here} is an array, but shape ${show(shape)} has only ${shape.length} dimension(s)`,
          );
        }
        leaves.push(element);
      } else {
        if (!Array.isArray(element)) {
          throw invalid(
            `${path}.data`,
            `${where}: data${here} must be an array for shape ${show(shape)} (or give "data" flat), got ${jsonType(element)}`,
          );
        }
        walk(element, depth + 1, here);
      }
    });
  };
  walk(data, 0, '');
  return leaves;
}

/**
 * An own property even for the name "__proto__" (which assignment would take as the prototype): such
 * an input is an input like any other, unknown to every signature. defineProperty only then, so the
 * object stays a fast one.
 */
function setOwn(target: Record<string, Tensor>, name: string, tensor: Tensor): void {
  if (name === '__proto__') {
    Object.defineProperty(target, name, {
      value: tensor,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    target[name] = tensor;
  }
}

/** Bytes per element, for the size check made from the shape before "data" is walked (BYTES: at least 1). */
const ELEMENT_BYTES: Record<Datatype, number> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP32: 4,
  FP64: 8,
  BYTES: 1,
};

function decodeElement(
  element: unknown,
  datatype: Datatype,
  i: number,
  where: string,
  path: string,
  opts: DecodeInferRequestOptions,
): number | boolean | string {
  const wrong = (what: string) =>
    invalid(`${path}.data`, `${where}: element ${i} must be ${what}, got ${show(element)}`);
  if (datatype === 'BYTES') {
    if (typeof element !== 'string') throw wrong('a string (the JSON form of BYTES)');
    if (element.length > opts.maxStringLength) {
      throw invalid(
        `${path}.data`,
        `${where}: element ${i} has ${element.length} characters, the limit is ${opts.maxStringLength}`,
      );
    }
    return element;
  }
  if (datatype === 'BOOL') {
    if (typeof element !== 'boolean') throw wrong('true or false');
    return element;
  }
  if (isFloat(datatype)) {
    // NaN and the infinities are kept here (JSON.parse turns 1e400 into Infinity); the signature decides.
    if (typeof element === 'string') {
      const special = nonFiniteOfText(element);
      if (special !== undefined) return special;
    }
    if (typeof element !== 'number') throw wrong('a number');
    return element;
  }
  const range = integerRange(datatype)!;
  if (typeof element !== 'number' || !Number.isInteger(element)) throw wrong(`an integer (${datatype})`);
  if (element < range[0] || element > range[1]) {
    throw invalid(
      `${path}.data`,
      `${where}: element ${i} is ${element}, outside ${datatype}'s range ${range[0]}..${range[1]}`,
    );
  }
  return element;
}

function decodeInput(
  raw: unknown,
  index: number,
  opts: DecodeInferRequestOptions,
  budget: { bytes: number },
): { name: string; tensor: Tensor } {
  const path = `inputs[${index}]`;
  if (!isObject(raw)) throw invalid(path, `${path} must be an object, got ${jsonType(raw)}`);

  const name = raw.name;
  if (typeof name !== 'string') {
    throw invalid(`${path}.name`, `${path}: "name" must be a string, got ${jsonType(name)}`);
  }
  checkIdentifier(name, `${path}.name`, { code: ErrorCode.V2_INVALID_REQUEST });
  const where = `input "${name}" (${path})`;

  // Before "data": a binary tensor legitimately has no "data", and the binary message is the useful one.
  checkParameters(raw.parameters, `${path}.parameters`, `${where} "parameters"`);

  const datatype = raw.datatype;
  if (!isDatatype(datatype)) {
    throw invalid(
      `${path}.datatype`,
      `${where}: datatype must be one of ${DATATYPES.join(', ')}, got ${datatype === undefined ? 'nothing' : show(datatype)}`,
    );
  }

  const shape = raw.shape;
  if (
    !Array.isArray(shape) ||
    shape.length > 16 ||
    !shape.every((d): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
  ) {
    throw invalid(
      `${path}.shape`,
      `${where}: "shape" must be an array of at most 16 non-negative integers, got ${show(shape)}`,
    );
  }
  // Checked from the shape, before walking "data", so an oversized tensor is refused cheaply.
  const count = shape.reduce((a, b) => a * b, 1);
  budget.bytes += count * ELEMENT_BYTES[datatype];
  if (budget.bytes > opts.maxTensorBytes) {
    throw new FerryError(
      ErrorCode.MODEL_TENSOR_TOO_LARGE,
      `${where}: the inputs declare ${budget.bytes} bytes of data, the limit is ${opts.maxTensorBytes} (FERRY_MAX_TENSOR_BYTES)`,
    );
  }
  if (shape.length > 0 && shape[0]! > opts.maxItems) {
    throw invalid(`${path}.shape`, `${where}: at most ${opts.maxItems} items per request, got ${shape[0]}`);
  }

  const data = raw.data;
  if (!Array.isArray(data)) {
    throw invalid(`${path}.data`, `${where}: "data" must be an array, got ${jsonType(data)}`);
  }
  const leaves = flattenTensorData(data, shape, where, path);
  const values = leaves.map((element, i) => decodeElement(element, datatype, i, where, path, opts));
  if (datatype === 'BYTES') {
    for (const v of values) budget.bytes += Buffer.byteLength(v as string) - 1;
    if (budget.bytes > opts.maxTensorBytes) {
      throw new FerryError(
        ErrorCode.MODEL_TENSOR_TOO_LARGE,
        `${where}: the inputs hold ${budget.bytes} bytes of data, the limit is ${opts.maxTensorBytes} (FERRY_MAX_TENSOR_BYTES)`,
      );
    }
  }
  return { name, tensor: { datatype, shape: [...shape], data: values as Tensor['data'] } };
}

function decodeOutputs(raw: unknown): string[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) throw invalid('outputs', `"outputs" must be an array, got ${jsonType(raw)}`);
  const names: string[] = [];
  raw.forEach((output, i) => {
    const where = `outputs[${i}]`;
    if (!isObject(output)) throw invalid(where, `${where} must be an object, got ${jsonType(output)}`);
    const name = output.name;
    if (typeof name !== 'string') {
      throw invalid(`${where}.name`, `${where}: "name" must be a string, got ${jsonType(name)}`);
    }
    if (names.includes(name)) {
      throw invalid(`${where}.name`, `${where}: output "${name}" is requested twice`);
    }
    // `binary_data_output` is deliberately ignored, not refused: Triton's client asks for it by default
    // and falls back to the JSON "data" Ferry always returns.
    checkParameters(output.parameters, `${where}.parameters`, `${where} "parameters"`);
    names.push(name);
  });
  // An empty list names nothing in particular, which the spec answers with every output.
  return names.length === 0 ? undefined : names;
}

/**
 * Turns a v2 `$inference_request` body into named tensors. Throws FerryError
 * FERRY_V2_INVALID_REQUEST (status 400) whose message says which field is wrong and why; the HTTP
 * layer sends it as the protocol's `{"error": message}`.
 */
export function decodeInferRequest(body: unknown, opts: DecodeInferRequestOptions): DecodedInferRequest {
  if (!isObject(body)) throw invalid('', `request body must be a JSON object, got ${jsonType(body)}`);

  const id = body.id;
  if (id !== undefined && typeof id !== 'string') {
    throw invalid('id', `"id" must be a string, got ${jsonType(id)}`);
  }
  // The id is echoed and logged, the unit routes and is logged: both bounded like every identifier.
  if (id !== undefined) checkIdentifier(id, 'id', { code: ErrorCode.V2_INVALID_REQUEST, allowEmpty: true });
  const parameters = checkParameters(body.parameters, 'parameters', 'request "parameters"');
  if (parameters !== undefined && Object.hasOwn(parameters, 'unit_id')) {
    checkIdentifier(parameters.unit_id, 'parameters.unit_id', { code: ErrorCode.V2_INVALID_REQUEST });
  }

  const inputs = body.inputs;
  if (!Array.isArray(inputs)) {
    throw invalid('inputs', `"inputs" must be an array of input tensors, got ${jsonType(inputs)}`);
  }
  if (inputs.length === 0) throw invalid('inputs', '"inputs" is empty; send the model\'s input tensors');

  const decodedInputs: Record<string, Tensor> = {};
  const budget = { bytes: 0 };
  inputs.forEach((raw, i) => {
    const { name, tensor } = decodeInput(raw, i, opts, budget);
    if (Object.hasOwn(decodedInputs, name)) {
      throw invalid(`inputs[${i}].name`, `inputs[${i}]: input "${name}" is given more than once`);
    }
    setOwn(decodedInputs, name, tensor);
  });
  const requestedOutputs = decodeOutputs(body.outputs);

  const decoded: DecodedInferRequest = { inputs: decodedInputs };
  if (id !== undefined) decoded.id = id;
  if (requestedOutputs !== undefined) decoded.requestedOutputs = requestedOutputs;
  if (parameters !== undefined) decoded.parameters = parameters;
  return decoded;
}
