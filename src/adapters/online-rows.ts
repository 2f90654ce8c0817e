import { ErrorCode, FerryError } from '../core/errors.js';
import { storableTextProblem } from '../core/text-guard.js';
import type { FeatureValue, OnlineFeatureRow } from '../ports/online-feature-store.js';

/**
 * The checks every online feature store applies before any I/O, so that SQLite, PostgreSQL and
 * Redis refuse the same calls: a row either round-trips exactly or is refused (400), never stored
 * changed (NaN turned into null, a Date into a string, a lone surrogate into U+FFFD).
 */

/** A row ready for a backend: the values already JSON. */
export interface EncodedOnlineRow {
  readonly view: string;
  readonly entityKey: string;
  readonly eventTimeMs: number;
  readonly valuesJson: string;
}

function invalid(message: string, details: Record<string, unknown>): FerryError {
  return new FerryError(ErrorCode.FEATURES_INVALID_REQUEST, message, { details });
}

/**
 * A view name: non-empty, storable, without ':' (Redis keys are `…of:<view>:<entityKey>` and a
 * view's rows are found by that prefix, so a ':' would let one view's rows pass for another's).
 */
export function checkView(view: unknown): string {
  if (typeof view !== 'string' || view === '') {
    throw invalid('a feature view name must be a non-empty string', { field: 'view' });
  }
  const problem = view.includes(':') ? 'must not contain ":"' : storableTextProblem(view);
  if (problem !== undefined) {
    throw invalid(`invalid feature view name ${JSON.stringify(view)}: ${problem}`, { field: 'view' });
  }
  return view;
}

/** An entity key: any string the stores keep exactly (U+001F, the composite separator, included). */
function checkEntityKey(key: unknown, index: number): string {
  if (typeof key !== 'string') {
    throw invalid(`entity key ${index} must be a string`, { field: 'entityKey', index });
  }
  const problem = storableTextProblem(key);
  if (problem !== undefined) {
    throw invalid(`entity key ${index} ${problem}`, { field: 'entityKey', index });
  }
  return key;
}

/** The view and keys of a read, checked. */
export function checkRead(view: unknown, entityKeys: unknown): readonly string[] {
  checkView(view);
  if (!Array.isArray(entityKeys)) {
    throw invalid('entityKeys must be an array of strings', { field: 'entityKeys' });
  }
  for (let i = 0; i < entityKeys.length; i++) checkEntityKey(entityKeys[i], i);
  return entityKeys as readonly string[];
}

/** Checks every row (all before any is written) and encodes its values as JSON. */
export function encodeRows(rows: readonly OnlineFeatureRow[]): EncodedOnlineRow[] {
  if (!Array.isArray(rows)) throw invalid('rows must be an array', { field: 'rows' });
  const out: EncodedOnlineRow[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (typeof row !== 'object' || row === null) throw invalid(`row ${i} is not an object`, { index: i });
    const view = checkView(row.view);
    const entityKey = checkEntityKey(row.entityKey, i);
    if (!Number.isSafeInteger(row.eventTimeMs)) {
      throw invalid(`row ${i}: eventTimeMs must be an integer number of milliseconds`, {
        index: i,
        field: 'eventTimeMs',
      });
    }
    const problem = valuesProblem(row.values);
    if (problem !== undefined) {
      throw invalid(`row ${i} (${view}, ${JSON.stringify(entityKey)}): values${problem}`, {
        index: i,
        field: 'values',
      });
    }
    out[i] = { view, entityKey, eventTimeMs: row.eventTimeMs, valuesJson: JSON.stringify(row.values) };
  }
  return out;
}

/** The stored JSON back as values; DB_ERROR when what is stored is not JSON (written by something else). */
export function decodeValues(
  json: string,
  view: string,
  entityKey: string,
): Readonly<Record<string, FeatureValue>> {
  try {
    return JSON.parse(json) as Record<string, FeatureValue>;
  } catch (e) {
    throw new FerryError(ErrorCode.DB_ERROR, `the stored online features of ${view} are not JSON`, {
      details: { view, entityKey },
      cause: e,
    });
  }
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Where `values` stops being a JSON object that JSON.stringify keeps exactly (`.a[2]: …`), or
 * undefined. Iterative, so deep nesting cannot overflow the stack; strings need no check (lone
 * surrogates are escaped by JSON.stringify and come back as they were).
 */
function valuesProblem(values: unknown): string | undefined {
  if (typeof values !== 'object' || values === null || Array.isArray(values) || !isPlainObject(values)) {
    return ' must be an object of feature name → value';
  }
  const stack: Array<{ value: unknown; path: string }> = [{ value: values, path: '' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    switch (typeof value) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (!Number.isFinite(value)) return `${path}: ${value} is not a JSON number`;
        continue;
      case 'object': {
        if (value === null) continue;
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) stack.push({ value: value[i], path: `${path}[${i}]` });
          continue;
        }
        if (!isPlainObject(value)) return `${path}: a ${value.constructor?.name ?? 'object'} is not JSON`;
        for (const key of Object.keys(value)) {
          stack.push({ value: (value as Record<string, unknown>)[key], path: `${path}.${key}` });
        }
        continue;
      }
      default:
        return `${path}: a ${typeof value} is not JSON`;
    }
  }
  return undefined;
}
