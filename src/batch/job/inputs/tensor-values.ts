/**
 * One input record's column values as the tensors of one row of a model, checked against its
 * signature. Pure functions over plain values, shared by the CSV, JSONL and SQL readers so that
 * they accept and refuse the same things; a problem is returned as a reason (the record becomes a
 * reject), never thrown.
 *
 * A row's shape is the signature's shape without the batch dimension when the model is batchable
 * (rows are stacked), or the signature's whole shape when it is not (a row is a whole request).
 * A value is either:
 * - text (a CSV field, a SQL text column, a JSONL string): for a tensor of exactly one element, the
 *   value itself (a number, `true`/`false`, or the string for BYTES); otherwise JSON;
 * - JSON (a JSONL value, or parsed from text): a number/boolean/string for a one-element tensor, a
 *   flat or nested array of the data, or `{"shape": [...], "data": [...]}`.
 */
import {
  type Datatype,
  elementCount,
  integerRange,
  isFloat,
  type NamedTensors,
  nonFiniteOfText,
  type Tensor,
  type TensorData,
  type TensorSpec,
} from '../../../model/tensor.js';

/** A tensor input and the shape each row of it must have (-1: any size). */
export interface RowTensorSpec {
  readonly spec: TensorSpec;
  readonly rowShape: readonly number[];
}

/** The row specs of a signature's inputs: batch dimension dropped when the model stacks rows. */
export function rowSpecs(inputs: readonly TensorSpec[], batchable: boolean): RowTensorSpec[] {
  return inputs.map((spec) => ({ spec, rowShape: batchable ? spec.shape.slice(1) : [...spec.shape] }));
}

/** Whether every row of this tensor holds exactly one element (so a plain value may stand for it). */
function isOneElement(rowShape: readonly number[]): boolean {
  return rowShape.every((d) => d === 1);
}

type Result<T> = { ok: true; value: T } | { ok: false; reason: string };
const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/** A scalar written as text, converted to the datatype. */
function scalarOfText(text: string, spec: TensorSpec): Result<number | boolean | string> {
  if (spec.datatype === 'BYTES') return { ok: true, value: text };
  const t = text.trim();
  if (spec.datatype === 'BOOL') {
    const lower = t.toLowerCase();
    if (lower === 'true' || lower === '1') return { ok: true, value: true };
    if (lower === 'false' || lower === '0') return { ok: true, value: false };
    return fail(`"${spec.name}": ${JSON.stringify(clip(t))} is not a boolean (true, false, 1 or 0)`);
  }
  const nonFinite = nonFiniteOfText(t);
  const n = nonFinite ?? (t === '' ? Number.NaN : Number(t));
  if (nonFinite === undefined && Number.isNaN(n)) {
    return fail(`"${spec.name}": ${JSON.stringify(clip(t))} is not a number`);
  }
  return { ok: true, value: n };
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}

/** The shape of a nested array (rectangular), its data flattened; a reason when it is ragged. */
function flattenNested(
  value: readonly unknown[],
  name: string,
): Result<{ shape: number[]; data: unknown[] }> {
  const shape: number[] = [];
  let level: unknown = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  const data: unknown[] = [];
  const walk = (v: unknown, depth: number): boolean => {
    if (depth === shape.length) {
      if (Array.isArray(v)) return false;
      data.push(v);
      return true;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) return false;
    for (const x of v) if (!walk(x, depth + 1)) return false;
    return true;
  };
  if (!walk(value, 0)) return fail(`"${name}": a nested array whose rows differ in length`);
  return { ok: true, value: { shape, data } };
}

/** A flat array's shape: the row shape with its one unknown dimension solved, when it can be. */
function shapeOfFlat(length: number, rowShape: readonly number[]): number[] | undefined {
  if (rowShape.length === 1) return [length];
  const unknown = rowShape.filter((d) => d === -1).length;
  const known = elementCount(rowShape.filter((d) => d !== -1));
  if (unknown === 0) return known === length ? [...rowShape] : undefined;
  if (unknown === 1 && known > 0 && length % known === 0) {
    return rowShape.map((d) => (d === -1 ? length / known : d));
  }
  return undefined;
}

/** A JSON value as a tensor's shape and data (not yet checked element by element). */
function shapedOfJson(value: unknown, r: RowTensorSpec): Result<{ shape: number[]; data: unknown[] }> {
  const { spec, rowShape } = r;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const { shape, data } = o;
    if (
      !Array.isArray(shape) ||
      !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0) ||
      !Array.isArray(data)
    ) {
      return fail(`"${spec.name}": an object must be {"shape": [sizes], "data": [values]}`);
    }
    return { ok: true, value: { shape: shape as number[], data: data as unknown[] } };
  }
  if (Array.isArray(value)) {
    if (value.some((v) => Array.isArray(v))) return flattenNested(value, spec.name);
    // A flat array: the row shape tells how it folds ([x] stands for the one value of a rank-0 row).
    const shape = rowShape.length === 0 && value.length === 1 ? [] : shapeOfFlat(value.length, rowShape);
    if (shape === undefined) {
      return fail(
        `"${spec.name}": ${value.length} values do not fill the shape ${JSON.stringify(rowShape)}; give a nested array or {"shape", "data"}`,
      );
    }
    return { ok: true, value: { shape, data: value } };
  }
  // A plain value: a tensor of one element, in the row shape (every dimension 1).
  if (!isOneElement(rowShape)) {
    return fail(
      `"${spec.name}": one value where a tensor of shape ${JSON.stringify(rowShape)} is expected (give a JSON array)`,
    );
  }
  return { ok: true, value: { shape: rowShape.map(() => 1), data: [value] } };
}

/** Checks each element against the datatype (kind, integer range, finiteness); the data as the tensor holds it. */
function checkData(data: readonly unknown[], spec: TensorSpec): Result<TensorData> {
  const { datatype, name } = spec;
  const at = (i: number, what: string) => fail(`"${name}"[${i}]: ${what}`);
  if (datatype === 'BYTES') {
    for (let i = 0; i < data.length; i++)
      if (typeof data[i] !== 'string') return at(i, 'expected a string (BYTES)');
    return { ok: true, value: data as string[] };
  }
  if (datatype === 'BOOL') {
    for (let i = 0; i < data.length; i++)
      if (typeof data[i] !== 'boolean') return at(i, 'expected true or false (BOOL)');
    return { ok: true, value: data as boolean[] };
  }
  const out: number[] = new Array(data.length);
  const range = integerRange(datatype);
  for (let i = 0; i < data.length; i++) {
    let v = data[i];
    // JSON cannot write NaN or ±Infinity: floats may spell them as strings.
    if (typeof v === 'string' && isFloat(datatype)) v = nonFiniteOfText(v) ?? v;
    if (typeof v !== 'number') return at(i, `expected a number (${datatype})`);
    if (range !== undefined) {
      if (!Number.isInteger(v)) return at(i, `${v} is not an integer (${datatype})`);
      if (v < range[0] || v > range[1])
        return at(i, `${v} is outside ${datatype}'s range [${range[0]}, ${range[1]}]`);
    } else if (!Number.isFinite(v) && spec.allowNonFinite !== true) {
      return at(i, `${v} is not finite (the signature does not allow NaN or Infinity)`);
    } else if (datatype === 'FP32' && Number.isFinite(v) && !Number.isFinite(Math.fround(v))) {
      return at(i, `${v} is outside FP32's range (about ±3.4e38)`);
    }
    out[i] = v;
  }
  return { ok: true, value: out };
}

function fitsRowShape(shape: readonly number[], rowShape: readonly number[]): boolean {
  return shape.length === rowShape.length && shape.every((d, i) => rowShape[i] === -1 || rowShape[i] === d);
}

/** One column value (text or JSON, see the file's comment) as the row's tensor, or the reason it cannot be. */
function tensorOfValue(value: unknown, r: RowTensorSpec): Result<Tensor> {
  const { spec, rowShape } = r;
  let json: unknown = value;
  if (typeof value === 'bigint') {
    json = Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  } else if (typeof value === 'string') {
    if (isOneElement(rowShape) && !/^\s*[[{]/.test(spec.datatype === 'BYTES' ? '' : value)) {
      const s = scalarOfText(value, spec);
      if (!s.ok) return s;
      json = s.value;
    } else {
      try {
        json = JSON.parse(value);
      } catch {
        return fail(
          `"${spec.name}": expected JSON (an array, or {"shape", "data"}) for a tensor of shape ${JSON.stringify(rowShape)}`,
        );
      }
    }
  }
  const shaped = shapedOfJson(json, r);
  if (!shaped.ok) return shaped;
  const { shape, data } = shaped.value;
  if (!fitsRowShape(shape, rowShape)) {
    return fail(`"${spec.name}": shape ${JSON.stringify(shape)} does not fit ${JSON.stringify(rowShape)}`);
  }
  if (elementCount(shape) !== data.length) {
    return fail(
      `"${spec.name}": ${data.length} values for shape ${JSON.stringify(shape)} (${elementCount(shape)} expected)`,
    );
  }
  const checked = checkData(data, spec);
  if (!checked.ok) return checked;
  return { ok: true, value: { datatype: spec.datatype as Datatype, shape, data: checked.value } };
}

/** A tensor input and the column its values come from. */
export interface MappedTensor {
  readonly column: string;
  readonly row: RowTensorSpec;
}

/** Every input of a row from its columns' values (`columnValue(column)`); the first problem as a reason. */
export function tensorsOfValues(
  columnValue: (column: string) => unknown,
  mapped: readonly MappedTensor[],
): Result<NamedTensors> {
  const out: Record<string, Tensor> = {};
  for (const { column, row } of mapped) {
    const value = columnValue(column);
    // An empty CSV field is no value, except for a string (BYTES) input, where it is the empty string.
    if (value === undefined || value === null || (value === '' && row.spec.datatype !== 'BYTES')) {
      return fail(`no value for input "${row.spec.name}" (column "${column}")`);
    }
    const t = tensorOfValue(value, row);
    if (!t.ok) return t;
    out[row.spec.name] = t.value;
  }
  return { ok: true, value: out };
}
