import { ErrorCode, FerryError } from '../../core/errors.js';
import { checkIdentifier } from '../../core/text-guard.js';
import type { TextInput } from '../../model/model.js';

/** Input tensors the text classifier reads; `title` is required, `description` defaults to "". */
export const V2_INPUT_NAMES = ['title', 'description'] as const;
/** Output tensors the text classifier produces, in the order they are returned by default. */
export const V2_OUTPUT_NAMES = ['label', 'probabilities'] as const;

export interface DecodeInferRequestOptions {
  /** Upper bound on n, the number of items (rows) in one request. */
  maxItems: number;
  /** Upper bound on each BYTES element, in UTF-16 code units (String#length), like validateTextInput. */
  maxStringLength: number;
}

export interface DecodedInferRequest {
  id?: string;
  items: TextInput[];
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

interface DecodedInput {
  name: (typeof V2_INPUT_NAMES)[number];
  values: string[];
  path: string;
}

function decodeInput(raw: unknown, index: number, opts: DecodeInferRequestOptions): DecodedInput {
  const path = `inputs[${index}]`;
  if (!isObject(raw)) throw invalid(path, `${path} must be an object, got ${jsonType(raw)}`);

  const name = raw.name;
  if (typeof name !== 'string') {
    throw invalid(`${path}.name`, `${path}: "name" must be a string, got ${jsonType(name)}`);
  }
  if (!(V2_INPUT_NAMES as readonly string[]).includes(name)) {
    throw invalid(
      `${path}.name`,
      `${path}: unknown input ${show(name)}; this model accepts "title" (required) and "description" (optional)`,
    );
  }
  const where = `input "${name}" (${path})`;

  // Before "data": a binary tensor legitimately has no "data", and the binary message is the useful one.
  checkParameters(raw.parameters, `${path}.parameters`, `${where} "parameters"`);

  const datatype = raw.datatype;
  if (datatype !== 'BYTES') {
    throw invalid(
      `${path}.datatype`,
      `${where}: datatype must be "BYTES" (strings), got ${datatype === undefined ? 'nothing' : show(datatype)}`,
    );
  }

  const shape = raw.shape;
  if (
    !Array.isArray(shape) ||
    !shape.every((d): d is number => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
  ) {
    throw invalid(
      `${path}.shape`,
      `${where}: "shape" must be an array of non-negative integers, got ${show(shape)}`,
    );
  }
  if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
    throw invalid(`${path}.shape`, `${where}: shape must be [n] or [n, 1], got ${show(shape)}`);
  }
  const n = shape[0]!;
  if (n < 1) throw invalid(`${path}.shape`, `${where}: needs at least 1 item, shape is ${show(shape)}`);
  // Checked from the shape, before walking "data", so an oversized batch is refused cheaply.
  if (n > opts.maxItems) {
    throw invalid(`${path}.shape`, `${where}: at most ${opts.maxItems} items per request, got ${n}`);
  }

  const data = raw.data;
  if (!Array.isArray(data)) {
    throw invalid(`${path}.data`, `${where}: "data" must be an array, got ${jsonType(data)}`);
  }
  const leaves = flattenTensorData(data, shape, where, path);

  const values = leaves.map((element, i) => {
    if (typeof element !== 'string') {
      throw invalid(
        `${path}.data`,
        `${where}: element ${i} must be a string (the JSON form of BYTES), got ${jsonType(element)}`,
      );
    }
    if (element.length > opts.maxStringLength) {
      throw invalid(
        `${path}.data`,
        `${where}: element ${i} has ${element.length} characters, the limit is ${opts.maxStringLength}`,
      );
    }
    return element;
  });
  return { name: name as DecodedInput['name'], values, path };
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
    if (!(V2_OUTPUT_NAMES as readonly string[]).includes(name)) {
      throw invalid(
        `${where}.name`,
        `${where}: unknown output ${show(name)}; this model produces "label" and "probabilities"`,
      );
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
 * Turns a v2 `$inference_request` body into the text classifier's rows. Throws FerryError
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
  if (inputs.length === 0) {
    throw invalid('inputs', '"inputs" is empty; send at least the "title" tensor');
  }

  const byName = new Map<string, DecodedInput>();
  inputs.forEach((raw, i) => {
    const input = decodeInput(raw, i, opts);
    if (byName.has(input.name)) {
      throw invalid(`inputs[${i}].name`, `inputs[${i}]: input "${input.name}" is given more than once`);
    }
    byName.set(input.name, input);
  });

  const title = byName.get('title');
  if (title === undefined) throw invalid('inputs', 'missing required input "title"');
  const description = byName.get('description');
  if (description !== undefined && description.values.length !== title.values.length) {
    throw invalid(
      'inputs',
      `input "description" has ${description.values.length} items but "title" has ${title.values.length}; they must match`,
    );
  }

  const items = title.values.map(
    (t, i): TextInput => ({ title: t, description: description?.values[i] ?? '' }),
  );
  const requestedOutputs = decodeOutputs(body.outputs);

  const decoded: DecodedInferRequest = { items };
  if (id !== undefined) decoded.id = id;
  if (requestedOutputs !== undefined) decoded.requestedOutputs = requestedOutputs;
  if (parameters !== undefined) decoded.parameters = parameters;
  return decoded;
}
