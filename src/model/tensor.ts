/**
 * Tensors as Ferry passes them between the protocol, the model kinds, the cache and the log: the
 * Open Inference Protocol v2 vocabulary (datatype names, shapes with -1 for a variable dimension),
 * data held flat in row-major order as plain JSON values. Plain arrays rather than typed arrays
 * because every path that carries them (JSON bodies, the cache, the log, batch files) is JSON; the
 * kinds that need typed arrays (ONNX) convert at their edge.
 */
import { ErrorCode, FerryError } from '../core/errors.js';

/** The v2 datatypes Ferry serves (the spec's list without FP16, which JSON cannot carry exactly). */
export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type Datatype = (typeof DATATYPES)[number];

/** BOOL holds booleans, BYTES strings (UTF-8 text, the JSON form of v2 BYTES), every other datatype numbers. */
export type TensorData = readonly number[] | readonly boolean[] | readonly string[];

export interface Tensor {
  readonly datatype: Datatype;
  /** Concrete dimensions (no -1); the product is data.length. */
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** Tensors by name: a request's inputs or a model's outputs. */
export type NamedTensors = Readonly<Record<string, Tensor>>;

export interface TensorSpec {
  readonly name: string;
  readonly datatype: Datatype;
  /** -1 for a dimension of any size. */
  readonly shape: readonly number[];
  /** FP inputs: NaN and ±Infinity are refused unless this is true. */
  readonly allowNonFinite?: boolean;
  /** Optional, for humans and clients (v2 metadata `parameters`). */
  readonly description?: string;
}

export interface Signature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /**
   * Whether requests may be concatenated along the first dimension into one run. Derived when
   * absent: every input and output has a variable first dimension.
   */
  readonly batchable?: boolean;
}

const INTEGER_RANGES: Partial<Record<Datatype, readonly [number, number]>> = {
  UINT8: [0, 255],
  UINT16: [0, 65_535],
  UINT32: [0, 4_294_967_295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT8: [-128, 127],
  INT16: [-32_768, 32_767],
  INT32: [-2_147_483_648, 2_147_483_647],
  // JSON numbers are doubles: 64-bit integers are exact only up to 2^53.
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

const NON_FINITE = new Map<string, number>([
  ['nan', Number.NaN],
  ['inf', Number.POSITIVE_INFINITY],
  ['+inf', Number.POSITIVE_INFINITY],
  ['-inf', Number.NEGATIVE_INFINITY],
  ['infinity', Number.POSITIVE_INFINITY],
  ['+infinity', Number.POSITIVE_INFINITY],
  ['-infinity', Number.NEGATIVE_INFINITY],
]);

/**
 * NaN or an infinity written as text ("NaN", "Infinity", "-inf", any case): JSON has no literal for
 * them, so v2 clients and CSV/JSONL files spell them. Undefined for any other text. Whether they are
 * accepted is the signature's call (allowNonFinite).
 */
export function nonFiniteOfText(text: string): number | undefined {
  return NON_FINITE.get(text.trim().toLowerCase());
}

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && (DATATYPES as readonly string[]).includes(value);
}

/** The [min, max] of an integer datatype; undefined for FP, BOOL and BYTES. */
export function integerRange(datatype: Datatype): readonly [number, number] | undefined {
  return INTEGER_RANGES[datatype];
}

export function isFloat(datatype: Datatype): boolean {
  return datatype === 'FP32' || datatype === 'FP64';
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Whether requests can be concatenated along dimension 0 (see Signature.batchable). */
export function isBatchable(signature: Signature): boolean {
  if (signature.batchable !== undefined) return signature.batchable;
  const all = [...signature.inputs, ...signature.outputs];
  return all.length > 0 && all.every((t) => t.shape.length > 0 && t.shape[0] === -1);
}

const MAX_NAME_BYTES = 256;
const MAX_RANK = 16;
const MAX_TENSORS = 256;

function bad(message: string): FerryError {
  return new FerryError(ErrorCode.MODEL_INVALID_SIGNATURE, message);
}

function checkSpecs(value: unknown, where: string): TensorSpec[] {
  if (!Array.isArray(value) || value.length > MAX_TENSORS) {
    throw bad(`signature ${where} must be an array of at most ${MAX_TENSORS} tensors`);
  }
  const seen = new Set<string>();
  return value.map((raw: unknown, i): TensorSpec => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw bad(`signature ${where}[${i}] must be an object`);
    }
    const t = raw as Record<string, unknown>;
    const { name, datatype, shape } = t;
    if (
      typeof name !== 'string' ||
      name === '' ||
      Buffer.byteLength(name) > MAX_NAME_BYTES ||
      name.includes('\0')
    ) {
      throw bad(
        `signature ${where}[${i}].name must be a non-empty string of at most ${MAX_NAME_BYTES} bytes`,
      );
    }
    if (seen.has(name)) throw bad(`signature ${where} names "${name}" twice`);
    seen.add(name);
    if (!isDatatype(datatype)) {
      throw bad(`signature ${where} "${name}": datatype must be one of ${DATATYPES.join(', ')}`);
    }
    if (
      !Array.isArray(shape) ||
      shape.length > MAX_RANK ||
      !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= -1)
    ) {
      throw bad(
        `signature ${where} "${name}": shape must be at most ${MAX_RANK} integers >= 0, or -1 for any size`,
      );
    }
    const spec: TensorSpec = {
      name,
      datatype,
      shape: [...(shape as number[])],
      ...(t.allowNonFinite === true ? { allowNonFinite: true } : {}),
      ...(typeof t.description === 'string' ? { description: t.description.slice(0, 1000) } : {}),
    };
    return spec;
  });
}

/** Parses and checks a signature (from a file, a registry row, a remote server): MODEL_INVALID_SIGNATURE when wrong. */
export function checkSignature(value: unknown): Signature {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad('a signature must be an object with "inputs" and "outputs"');
  }
  const v = value as Record<string, unknown>;
  const inputs = checkSpecs(v.inputs, 'inputs');
  const outputs = checkSpecs(v.outputs, 'outputs');
  if (inputs.length === 0) throw bad('a signature needs at least one input');
  if (outputs.length === 0) throw bad('a signature needs at least one output');
  if (v.batchable !== undefined && typeof v.batchable !== 'boolean')
    throw bad('signature batchable must be a boolean');
  const signature: Signature = {
    inputs,
    outputs,
    ...(typeof v.batchable === 'boolean' ? { batchable: v.batchable } : {}),
  };
  if (signature.batchable === true) {
    const fixed = [...inputs, ...outputs].find((t) => t.shape.length === 0 || t.shape[0] !== -1);
    if (fixed) throw bad(`signature says batchable, but "${fixed.name}" has no variable first dimension`);
  }
  return signature;
}

/** Whether `shape` (concrete) fits `pattern` (with -1 wildcards). */
export function shapeFits(shape: readonly number[], pattern: readonly number[]): boolean {
  return shape.length === pattern.length && shape.every((d, i) => pattern[i] === -1 || pattern[i] === d);
}

/**
 * The rows of a batch: each tensor cut along dimension 0 into `rows` pieces of shape `shape.slice(1)`.
 * Every tensor must have `rows` as its first dimension.
 */
export function splitRows(tensors: NamedTensors, rows: number): NamedTensors[] {
  const out = new Array<Record<string, Tensor>>(rows);
  for (let r = 0; r < rows; r++) out[r] = {}; // a loop: Array.from({ length }) is V8's slow path
  for (const [name, t] of Object.entries(tensors)) {
    if (t.shape[0] !== rows) {
      throw new FerryError(ErrorCode.INTERNAL, `tensor "${name}" has ${t.shape[0]} rows, expected ${rows}`);
    }
    const rowShape = t.shape.slice(1);
    const size = elementCount(rowShape);
    for (let r = 0; r < rows; r++) {
      out[r]![name] = {
        datatype: t.datatype,
        shape: rowShape,
        // One row is the whole tensor: its data is shared, not copied (tensors are never mutated).
        data: rows === 1 ? t.data : (t.data.slice(r * size, (r + 1) * size) as TensorData),
      };
    }
  }
  return out;
}

/** The inverse of splitRows: rows stacked along a new dimension 0 (every row must have the same tensors and shapes). */
export function concatRows(rows: readonly NamedTensors[]): NamedTensors {
  const first = rows[0];
  if (first === undefined) return {};
  if (rows.length === 1) {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(first)) out[name] = { ...t, shape: [1, ...t.shape] };
    return out;
  }
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(first)) {
    const data: unknown[] = [];
    for (const [r, row] of rows.entries()) {
      const other = row[name];
      if (!other || other.datatype !== t.datatype || !shapeFits(other.shape, t.shape)) {
        throw new FerryError(
          ErrorCode.INTERNAL,
          `row ${r} has no tensor "${name}" of ${t.datatype} ${JSON.stringify(t.shape)} to stack`,
        );
      }
      for (const v of other.data) data.push(v);
    }
    out[name] = { datatype: t.datatype, shape: [rows.length, ...t.shape], data: data as TensorData };
  }
  return out;
}

/** How many rows a batch has: the first dimension shared by every tensor; MODEL_INVALID_OUTPUT-style callers check. */
export function rowCount(tensors: NamedTensors): number | undefined {
  let n: number | undefined;
  for (const t of Object.values(tensors)) {
    const d = t.shape[0];
    if (d === undefined) return undefined;
    if (n === undefined) n = d;
    else if (n !== d) return undefined;
  }
  return n;
}

/**
 * A canonical text of tensors (names sorted, datatype, shape, data): equal tensors give equal
 * text whatever the key order of the object, so it can key a cache.
 */
export function canonicalTensors(tensors: NamedTensors): string {
  const names = Object.keys(tensors).sort();
  return JSON.stringify(names.map((n) => [n, tensors[n]!.datatype, tensors[n]!.shape, tensors[n]!.data]));
}
