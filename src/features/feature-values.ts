import type { FeatureValue } from '../ports/online-feature-store.js';
import type { FeatureType } from './feature-definitions.js';

/**
 * A value against its feature's declared type. Sources give text (CSV), JSON values (JSON lines)
 * or database values (SQL), so the obvious spellings are converted: `"42"` is an int64, `"true"`
 * a bool, a list or map in a CSV cell is its JSON text. Anything else is refused with the reason,
 * which makes the row a bad row. null, undefined and an empty cell are null: the value is missing.
 */
export type Coerced =
  | { readonly ok: true; readonly value: FeatureValue }
  | { readonly ok: false; readonly reason: string };

const MAX_STRING_BYTES = 64 * 1024;
const MAX_LIST = 10_000;

const ok = (value: FeatureValue): Coerced => ({ ok: true, value });
const bad = (reason: string): Coerced => ({ ok: false, reason });

function show(value: unknown): string {
  const text =
    typeof value === 'string'
      ? JSON.stringify(value)
      : typeof value === 'bigint'
        ? `${value}`
        : (JSON.stringify(value) ?? String(value));
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

export function coerceValue(type: FeatureType, value: unknown): Coerced {
  if (value === null || value === undefined || value === '') return ok(null);
  switch (type) {
    case 'string':
      return toText(value);
    case 'int64':
      return toInt(value);
    case 'float64':
      return toFloat(value);
    case 'bool':
      return toBool(value);
    case 'string_list':
      return toList(value, 'string_list', (v) =>
        typeof v === 'string' ? ok(v) : bad(`${show(v)} in a string_list is not text`),
      );
    case 'float64_list':
      return toList(value, 'float64_list', (v) =>
        typeof v === 'number' ? toFloat(v) : bad(`${show(v)} in a float64_list is not a number`),
      );
    case 'map':
      return toMap(value);
  }
}

function toText(value: unknown): Coerced {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (
    (typeof value === 'number' && Number.isFinite(value)) ||
    typeof value === 'bigint' ||
    typeof value === 'boolean'
  ) {
    text = String(value);
  } else return bad(`${show(value)} is not text`);
  if (text.includes('\u0000')) return bad('text with a NUL character');
  if (text.length * 3 > MAX_STRING_BYTES && Buffer.byteLength(text) > MAX_STRING_BYTES) {
    return bad(`text longer than ${MAX_STRING_BYTES} bytes`);
  }
  return ok(text);
}

function toInt(value: unknown): Coerced {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = Number(value);
  else if (typeof value === 'string' && /^\s*[-+]?\d+(\.0*)?\s*$/.test(value)) n = Number(value);
  else if (typeof value === 'boolean') return bad(`${value} is not an int64`);
  else return bad(`${show(value)} is not an int64`);
  if (!Number.isInteger(n)) return bad(`${show(value)} is not a whole number`);
  if (!Number.isSafeInteger(n))
    return bad(`${show(value)} is beyond ±2^53 (JSON integers are exact only up to it)`);
  return ok(n);
}

function toFloat(value: unknown): Coerced {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = Number(value);
  else if (typeof value === 'string' && value.trim() !== '') n = Number(value);
  else return bad(`${show(value)} is not a float64`);
  if (Number.isNaN(n) && typeof value === 'string' && !/^\s*[-+]?nan\s*$/i.test(value))
    return bad(`${show(value)} is not a float64`);
  if (!Number.isFinite(n)) return bad(`${show(value)} is not a finite number`);
  return ok(n);
}

function toBool(value: unknown): Coerced {
  if (typeof value === 'boolean') return ok(value);
  if (value === 1 || value === 0) return ok(value === 1);
  if (typeof value === 'string') {
    const t = value.trim().toLowerCase();
    if (t === 'true' || t === '1') return ok(true);
    if (t === 'false' || t === '0') return ok(false);
  }
  return bad(`${show(value)} is not a bool (true/false)`);
}

/** A list, or (CSV, SQL text) the JSON text of one. */
function fromJsonText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function toList(value: unknown, type: string, item: (v: unknown) => Coerced): Coerced {
  const list = fromJsonText(value);
  if (!Array.isArray(list)) return bad(`${show(value)} is not a ${type} (a JSON list)`);
  if (list.length > MAX_LIST) return bad(`a ${type} longer than ${MAX_LIST}`);
  const out: FeatureValue[] = [];
  for (const v of list) {
    const r = item(v);
    if (!r.ok) return r;
    out.push(r.value);
  }
  return ok(out);
}

function toMap(value: unknown): Coerced {
  const map = fromJsonText(value);
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    return bad(`${show(value)} is not a map (a JSON object of numbers)`);
  const out: Record<string, FeatureValue> = {};
  const entries = Object.entries(map);
  if (entries.length > MAX_LIST) return bad(`a map of more than ${MAX_LIST} keys`);
  for (const [k, v] of entries) {
    if (typeof v !== 'number' || !Number.isFinite(v))
      return bad(`the map's value for ${show(k)} is not a finite number`);
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return ok(out);
}
