import { durationMs } from '../core/duration.js';
import { storableTextProblem } from '../core/text-guard.js';
import { cleanText, tokenize } from '../model/text/clean.js';
import { ENTITY_KEY_SEPARATOR, entityKeyOf, type FeatureValue } from '../ports/online-feature-store.js';
import { parseEventTime } from './event-time.js';
import type {
  FeatureRepoDef,
  FeatureType,
  FeatureViewDef,
  RowFunction,
  SourceDef,
} from './feature-definitions.js';
import { coerceValue } from './feature-values.js';

/**
 * A row-level feature view made ready to run: for each source row, its entity key, its event time
 * and its values (from the JSON `features` spec — a field, or a built-in function of fields — or
 * the TypeScript `map`), each checked against the declared type. A row that cannot give all of
 * these is a bad row, with the reason; it never stops the run.
 */
export type RowResult =
  | {
      readonly ok: true;
      readonly entityKey: string;
      readonly eventTimeMs: number;
      readonly values: Record<string, FeatureValue>;
    }
  | { readonly ok: false; readonly reason: string };

export interface CompiledRowView {
  readonly view: FeatureViewDef;
  /** The join keys, in the order of the view's entities. */
  readonly joinKeys: readonly string[];
  readonly timestampField: string;
  readonly ttlMs: number;
  /** The event time of a row, or undefined when it has none (checked before the values are computed). */
  eventTime(fields: Readonly<Record<string, unknown>>): number | undefined;
  apply(fields: Readonly<Record<string, unknown>>): RowResult;
}

const NO_STOPWORDS: ReadonlySet<string> = new Set();
const MAX_KEY_BYTES = 256;

function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  return JSON.stringify(value);
}

const FUNCTIONS: Record<RowFunction, (args: readonly unknown[]) => unknown> = {
  clean_text: (args) => cleanText(args.map(text).join(' ')),
  lower: ([v]) => (v === null || v === undefined ? null : text(v).toLowerCase()),
  // Characters, not UTF-16 units: "é" and "😀" are one each.
  length: ([v]) => (v === null || v === undefined ? null : Array.isArray(v) ? v.length : [...text(v)].length),
  token_count: ([v]) => (v === null || v === undefined ? 0 : tokenize(text(v), NO_STOPWORDS).length),
};

/** A join key's value as the entity key part: text or an integer, non-empty, storable. */
export function keyPart(value: unknown, field: string): string | { reason: string } {
  let part: string;
  if (typeof value === 'string') part = value;
  else if ((typeof value === 'number' && Number.isSafeInteger(value)) || typeof value === 'bigint')
    part = String(value);
  else if (value === null || value === undefined) return { reason: `no value for the join key "${field}"` };
  else return { reason: `the join key "${field}" must be text or an integer` };
  if (part === '') return { reason: `the join key "${field}" is empty` };
  const problem = storableTextProblem(part);
  if (problem !== undefined) return { reason: `the join key "${field}" ${problem}` };
  if (part.includes(ENTITY_KEY_SEPARATOR)) return { reason: `the join key "${field}" contains U+001F` };
  if (part.length > MAX_KEY_BYTES && Buffer.byteLength(part) > MAX_KEY_BYTES) {
    return { reason: `the join key "${field}" is longer than ${MAX_KEY_BYTES} bytes` };
  }
  return part;
}

/** The join keys of a view: its entities' keys, in declared order. */
export function joinKeysOf(
  repo: Pick<FeatureRepoDef, 'entities'>,
  view: Pick<FeatureViewDef, 'entities'>,
): string[] {
  return view.entities.flatMap((name) => repo.entities.find((e) => e.name === name)?.joinKeys ?? []);
}

/** The source rows come from: the view's source, or a stream source's batch source. */
export function batchSourceOf(repo: FeatureRepoDef, view: FeatureViewDef): SourceDef | undefined {
  const source = repo.sources.find((s) => s.name === view.source);
  if (source?.kind !== 'stream') return source;
  return source.batchSource === undefined
    ? undefined
    : repo.sources.find((s) => s.name === source.batchSource);
}

/** A source row's entity key and event time, or why it has none (the first step of every view). */
export type RowKey =
  | { readonly ok: true; readonly entityKey: string; readonly eventTimeMs: number }
  | { readonly ok: false; readonly reason: string };

export interface CompiledRowKey {
  /** The join keys, in the order of the view's entities. */
  readonly joinKeys: readonly string[];
  readonly timestampField: string;
  /** The event time of a row, or undefined when it has none (checked before the values are computed). */
  eventTime(fields: Readonly<Record<string, unknown>>): number | undefined;
  keyOf(fields: Readonly<Record<string, unknown>>): RowKey;
}

/** How a view's rows are keyed and timed: the join keys of its entities, its batch source's time field. */
export function compileRowKey(repo: FeatureRepoDef, view: FeatureViewDef): CompiledRowKey {
  const joinKeys = joinKeysOf(repo, view);
  const source = batchSourceOf(repo, view);
  if (source === undefined) throw new Error(`${view.name} has no batch source`);
  const timestampField = source.timestampField;
  const eventTime = (fields: Readonly<Record<string, unknown>>) =>
    parseEventTime(field(fields, timestampField));
  return {
    joinKeys,
    timestampField,
    eventTime,
    keyOf(fields) {
      const parts: string[] = [];
      for (const key of joinKeys) {
        const part = keyPart(field(fields, key), key);
        if (typeof part !== 'string') return { ok: false, reason: part.reason };
        parts.push(part);
      }
      const eventTimeMs = eventTime(fields);
      if (eventTimeMs === undefined) {
        const raw = field(fields, timestampField);
        return {
          ok: false,
          reason:
            raw === undefined || raw === null || raw === ''
              ? `no event time ("${timestampField}")`
              : `the event time "${text(raw).slice(0, 40)}" is not ISO 8601 or milliseconds since the epoch`,
        };
      }
      return { ok: true, entityKey: entityKeyOf(parts), eventTimeMs };
    },
  };
}

export function compileRowView(repo: FeatureRepoDef, view: FeatureViewDef): CompiledRowView {
  if (view.transform.kind !== 'row') throw new Error(`${view.name} is not a row view`);
  const transform = view.transform;
  const rowKey = compileRowKey(repo, view);
  const types = new Map<string, FeatureType>(view.schema.map((f) => [f.name, f.type]));
  const compute = transform.map ?? specCompute(view);

  return {
    view,
    joinKeys: rowKey.joinKeys,
    timestampField: rowKey.timestampField,
    ttlMs: durationMs(view.ttl),
    eventTime: rowKey.eventTime,
    apply(fields) {
      const key = rowKey.keyOf(fields);
      if (!key.ok) return key;
      let raw: Record<string, unknown>;
      try {
        raw = compute(fields);
      } catch (e) {
        return { ok: false, reason: `the map function threw: ${e instanceof Error ? e.message : String(e)}` };
      }
      if (typeof raw !== 'object' || raw === null)
        return { ok: false, reason: 'the map function did not return an object' };
      const values: Record<string, FeatureValue> = {};
      for (const key of Object.keys(raw)) {
        if (!types.has(key))
          return { ok: false, reason: `the map function returned "${key}", which is not in the schema` };
      }
      for (const [name, type] of types) {
        const coerced = coerceValue(type, raw[name]);
        if (!coerced.ok) return { ok: false, reason: `${name}: ${coerced.reason}` };
        values[name] = coerced.value;
      }
      return { ok: true, entityKey: key.entityKey, eventTimeMs: key.eventTimeMs, values };
    },
  };
}

function field(fields: Readonly<Record<string, unknown>>, name: string): unknown {
  return Object.hasOwn(fields, name) ? fields[name] : undefined;
}

/** The JSON transform: each feature from its spec, or from the field of its own name. */
function specCompute(
  view: FeatureViewDef,
): (fields: Readonly<Record<string, unknown>>) => Record<string, unknown> {
  const specs = view.transform.kind === 'row' ? (view.transform.features ?? {}) : {};
  const steps = view.schema.map((f) => {
    const spec = Object.hasOwn(specs, f.name) ? specs[f.name]! : { from: f.name };
    if (spec.fn === undefined) {
      const from = spec.from ?? f.name;
      return (fields: Readonly<Record<string, unknown>>) => field(fields, from);
    }
    const fn = FUNCTIONS[spec.fn];
    const args = [...(spec.from === undefined ? [] : [spec.from]), ...(spec.args ?? [])];
    return (fields: Readonly<Record<string, unknown>>) => fn(args.map((a) => field(fields, a)));
  });
  const names = view.schema.map((f) => f.name);
  return (fields) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) out[names[i]!] = steps[i]!(fields);
    return out;
  };
}
