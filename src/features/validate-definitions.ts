import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Checks, type DefinitionProblem, describe } from './definition-checks.js';
import {
  AGGREGATIONS,
  type AggregationFn,
  FEATURE_TYPES,
  type FeatureRepoDef,
  type FeatureType,
  ROW_FUNCTIONS,
  type RowFunction,
} from './feature-definitions.js';
import { childPath } from './json-positions.js';

/**
 * The rules of a feature repository, checked all at once so that one `apply` lists every problem:
 * the shape of every object (unknown fields refused), names, types, durations, unique names per
 * kind, every reference (entity, source, view, feature), the files of file sources, and what each
 * transform needs (a row function's output type, a window's aggregations against the schema).
 */
export interface ValidateOptions {
  /** Directory that file sources are relative to (the definition file's). */
  readonly baseDir: string;
  /** A `.ts`/`.mjs` file may give a row transform as a function (`map`); JSON cannot. */
  readonly allowFunctions: boolean;
  /** Whether a path is an existing regular file (a parameter for tests). */
  readonly isFile?: (path: string) => boolean;
}

export type ValidationResult =
  | { readonly ok: true; readonly repo: FeatureRepoDef }
  | { readonly ok: false; readonly problems: readonly DefinitionProblem[] };

/** What each row function produces. */
const ROW_FUNCTION_TYPES: Record<RowFunction, readonly FeatureType[]> = {
  clean_text: ['string'],
  lower: ['string'],
  length: ['int64', 'float64'],
  token_count: ['int64', 'float64'],
};
/** Functions of exactly one field; `clean_text` joins several with a space. */
const ONE_FIELD: ReadonlySet<RowFunction> = new Set(['lower', 'length', 'token_count']);

/** What each aggregation produces. */
const AGGREGATION_TYPES: Record<AggregationFn, readonly FeatureType[]> = {
  count: ['int64'],
  distinct_count: ['int64'],
  sum: ['float64', 'int64'],
  mean: ['float64'],
  min: ['float64', 'int64'],
  max: ['float64', 'int64'],
  last: FEATURE_TYPES,
  top_k: ['string_list'],
  count_by: ['map'],
};
/** The window engine's bound (features/windows/window-view.ts, MAX_K). */
const TOP_K_MAX = 1000;

const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

function defaultIsFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

interface Named {
  name: string | undefined;
  path: string;
}

export function validateDefinitions(raw: unknown, opts: ValidateOptions): ValidationResult {
  const c = new Checks();
  const v = new Validator(c, opts);
  v.run(raw);
  return c.problems.length === 0
    ? { ok: true, repo: raw as FeatureRepoDef }
    : { ok: false, problems: c.problems };
}

/** A view's facts the later checks need (services, pipelines). */
interface ViewFacts {
  source: string | undefined;
  features: Set<string>;
}

class Validator {
  private readonly entities = new Map<string, readonly string[]>();
  private readonly sources = new Map<string, string | undefined>(); // name → kind
  private readonly views = new Map<string, ViewFacts>();

  constructor(
    private readonly c: Checks,
    private readonly opts: ValidateOptions,
  ) {}

  run(raw: unknown): void {
    const top = this.c.object(
      raw,
      '',
      ['entities', 'sources', 'views', 'services', 'pipelines'],
      'a feature repository',
    );
    if (top === undefined) return;
    const list = (key: string, required: boolean): unknown[] => {
      if (top[key] === undefined) {
        if (required) this.c.add(key, `"${key}" is required (a list, possibly empty)`);
        return [];
      }
      return this.c.array(top[key], key) ?? [];
    };
    const entities = list('entities', true);
    const sources = list('sources', true);
    const views = list('views', true);
    const services = list('services', false);
    const pipelines = list('pipelines', false);
    this.c.unique(
      entities.map((e, i) => this.entity(e, childPath('entities', i))),
      'entity',
    );
    const sourceNames = sources.map((s, i) => this.source(s, childPath('sources', i)));
    this.c.unique(sourceNames, 'source');
    // batchSource references need every source known first.
    sources.forEach((s, i) => {
      this.batchSourceRef(s, childPath('sources', i));
    });
    this.c.unique(
      views.map((view, i) => this.view(view, childPath('views', i))),
      'view',
    );
    this.c.unique(
      services.map((s, i) => this.service(s, childPath('services', i))),
      'service',
    );
    this.c.unique(
      pipelines.map((p, i) => this.pipeline(p, childPath('pipelines', i))),
      'pipeline',
    );
  }

  private entity(raw: unknown, path: string): Named {
    const e = this.c.object(raw, path, ['name', 'joinKeys', 'description'], 'an entity');
    if (e === undefined) return { name: undefined, path };
    const name = this.c.name(this.c.required(e, 'name', path), childPath(path, 'name'));
    const keysPath = childPath(path, 'joinKeys');
    const keysRaw = this.c.required(e, 'joinKeys', path);
    const keys: string[] = [];
    if (keysRaw !== undefined) {
      const arr = this.c.array(keysRaw, keysPath, { nonEmpty: true }) ?? [];
      arr.forEach((k, i) => {
        const key = this.c.field(k, childPath(keysPath, i));
        if (key === undefined) return;
        if (keys.includes(key)) this.c.add(childPath(keysPath, i), `the join key "${key}" is listed twice`);
        else keys.push(key);
      });
    }
    this.c.optionalText(e, 'description', path);
    if (name !== undefined && !this.entities.has(name)) this.entities.set(name, keys);
    return { name, path };
  }

  private source(raw: unknown, path: string): Named {
    const base = ['name', 'kind', 'timestampField', 'description'];
    const first = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).kind : undefined;
    const extra =
      first === 'file'
        ? ['path', 'format']
        : first === 'sql'
          ? ['table', 'query', 'url']
          : first === 'stream'
            ? ['stream', 'batchSource']
            : ['path', 'format', 'table', 'query', 'url', 'stream', 'batchSource'];
    const s = this.c.object(
      raw,
      path,
      [...base, ...extra],
      `a ${typeof first === 'string' ? `${first} ` : ''}source`,
    );
    if (s === undefined) return { name: undefined, path };
    const name = this.c.name(this.c.required(s, 'name', path), childPath(path, 'name'));
    const kindRaw = this.c.required(s, 'kind', path);
    const kind =
      kindRaw === undefined
        ? undefined
        : this.c.oneOf(kindRaw, childPath(path, 'kind'), ['file', 'sql', 'stream'], 'source kind');
    const ts = this.c.required(s, 'timestampField', path);
    if (ts !== undefined) this.c.field(ts, childPath(path, 'timestampField'));
    this.c.optionalText(s, 'description', path);
    if (kind === 'file') this.fileSource(s, path);
    else if (kind === 'sql') this.sqlSource(s, path);
    else if (kind === 'stream') {
      const stream = this.c.required(s, 'stream', path);
      if (stream !== undefined && (typeof stream !== 'string' || !STREAM_NAME.test(stream))) {
        this.c.add(
          childPath(path, 'stream'),
          `expected a stream name (letters, digits, "_" and "-", at most 64), got ${describe(stream)}`,
        );
      }
    }
    if (name !== undefined && !this.sources.has(name)) this.sources.set(name, kind);
    return { name, path };
  }

  private fileSource(s: Record<string, unknown>, path: string): void {
    const file = this.c.required(s, 'path', path);
    if (s.format !== undefined)
      this.c.oneOf(s.format, childPath(path, 'format'), ['csv', 'jsonl'], 'file format');
    if (file === undefined) return;
    const text = this.c.text(file, childPath(path, 'path'), { nonEmpty: true });
    if (text === undefined) return;
    const full = resolve(this.opts.baseDir, text);
    if (!(this.opts.isFile ?? defaultIsFile)(full)) {
      this.c.add(
        childPath(path, 'path'),
        `the file ${full} does not exist (paths are relative to the definition file)`,
      );
    }
  }

  private sqlSource(s: Record<string, unknown>, path: string): void {
    const hasTable = s.table !== undefined;
    const hasQuery = s.query !== undefined;
    if (hasTable === hasQuery) {
      this.c.add(path, 'a sql source needs exactly one of "table" and "query"');
    }
    if (hasTable && (typeof s.table !== 'string' || !TABLE_NAME.test(s.table))) {
      this.c.add(
        childPath(path, 'table'),
        `expected a table name (letters, digits, "_", optionally schema.table), got ${describe(s.table)}`,
      );
    }
    if (hasQuery) this.c.text(s.query, childPath(path, 'query'), { nonEmpty: true });
    if (s.url !== undefined) {
      const url = this.c.text(s.url, childPath(path, 'url'), { nonEmpty: true });
      if (url !== undefined && !/^(sqlite:|postgres(ql)?:\/\/)/i.test(url.trim())) {
        this.c.add(childPath(path, 'url'), 'expected a database URL: sqlite:<path> or postgres://…');
      }
    }
  }

  private batchSourceRef(raw: unknown, path: string): void {
    if (typeof raw !== 'object' || raw === null) return;
    const s = raw as Record<string, unknown>;
    if (s.kind !== 'stream' || s.batchSource === undefined) return;
    const at = childPath(path, 'batchSource');
    const ref = this.c.name(s.batchSource, at);
    if (ref === undefined) return;
    if (!this.sources.has(ref))
      this.c.add(at, `unknown source "${ref}"${this.known([...this.sources.keys()])}`);
    else if (this.sources.get(ref) === 'stream')
      this.c.add(at, `the batch source "${ref}" must be a file or sql source, not a stream`);
  }

  private known(names: readonly string[]): string {
    return names.length === 0 ? ' (none is declared)' : `; known: ${names.map((n) => `"${n}"`).join(', ')}`;
  }

  private view(raw: unknown, path: string): Named {
    const v = this.c.object(
      raw,
      path,
      ['name', 'entities', 'source', 'ttl', 'online', 'schema', 'transform', 'description'],
      'a feature view',
    );
    if (v === undefined) return { name: undefined, path };
    const name = this.c.name(this.c.required(v, 'name', path), childPath(path, 'name'));
    const entitiesPath = childPath(path, 'entities');
    const entitiesRaw = this.c.required(v, 'entities', path);
    if (entitiesRaw !== undefined) {
      const arr = this.c.array(entitiesRaw, entitiesPath, { nonEmpty: true }) ?? [];
      const seen = new Set<string>();
      arr.forEach((e, i) => {
        const at = childPath(entitiesPath, i);
        const ref = this.c.name(e, at);
        if (ref === undefined) return;
        if (seen.has(ref)) this.c.add(at, `the entity "${ref}" is listed twice`);
        seen.add(ref);
        if (!this.entities.has(ref))
          this.c.add(at, `unknown entity "${ref}"${this.known([...this.entities.keys()])}`);
      });
    }
    const sourceRaw = this.c.required(v, 'source', path);
    let source: string | undefined;
    if (sourceRaw !== undefined) {
      source = this.c.name(sourceRaw, childPath(path, 'source'));
      if (source !== undefined && !this.sources.has(source)) {
        this.c.add(
          childPath(path, 'source'),
          `unknown source "${source}"${this.known([...this.sources.keys()])}`,
        );
      }
    }
    const ttl = this.c.required(v, 'ttl', path);
    if (ttl !== undefined) this.c.duration(ttl, childPath(path, 'ttl'), 'a TTL');
    if (v.online !== undefined) this.c.boolean(v.online, childPath(path, 'online'));
    this.c.optionalText(v, 'description', path);
    const schema = this.schema(this.c.required(v, 'schema', path), childPath(path, 'schema'));
    const transform = this.c.required(v, 'transform', path);
    if (transform !== undefined) this.transform(transform, childPath(path, 'transform'), schema);
    if (name !== undefined && !this.views.has(name)) {
      this.views.set(name, { source, features: new Set(schema.keys()) });
    }
    return { name, path };
  }

  /** The view's schema as feature name → type (undefined when the type is unknown). */
  private schema(raw: unknown, path: string): Map<string, FeatureType | undefined> {
    const out = new Map<string, FeatureType | undefined>();
    if (raw === undefined) return out;
    const arr = this.c.array(raw, path, { nonEmpty: true }) ?? [];
    arr.forEach((f, i) => {
      const at = childPath(path, i);
      const feature = this.c.object(f, at, ['name', 'type', 'description'], 'a feature');
      if (feature === undefined) return;
      const name = this.c.name(this.c.required(feature, 'name', at), childPath(at, 'name'));
      const typeRaw = this.c.required(feature, 'type', at);
      const type =
        typeRaw === undefined
          ? undefined
          : this.c.oneOf(typeRaw, childPath(at, 'type'), FEATURE_TYPES, 'feature type');
      this.c.optionalText(feature, 'description', at);
      if (name === undefined) return;
      if (out.has(name)) this.c.add(childPath(at, 'name'), `duplicate feature name "${name}" in this view`);
      else out.set(name, type);
    });
    return out;
  }

  private transform(raw: unknown, path: string, schema: Map<string, FeatureType | undefined>): void {
    const kind = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).kind : undefined;
    if (kind === 'window') {
      this.windowTransform(raw, path, schema);
      return;
    }
    if (kind !== 'row') {
      if (this.c.object(raw, path, ['kind'], 'a transform') !== undefined) {
        this.c.oneOf(kind, childPath(path, 'kind'), ['row', 'window'], 'transform kind');
      }
      return;
    }
    const t = this.c.object(raw, path, ['kind', 'features', 'map'], 'a row transform');
    if (t === undefined) return;
    if (t.map !== undefined) {
      if (!this.opts.allowFunctions) {
        this.c.add(
          childPath(path, 'map'),
          'a map function needs a .ts or .mjs definition file; in JSON, use "features"',
        );
      } else if (typeof t.map !== 'function') {
        this.c.add(childPath(path, 'map'), `expected a function (row) => values, got ${describe(t.map)}`);
      }
      if (t.features !== undefined) this.c.add(path, 'give either "features" or "map", not both');
      return;
    }
    if (t.features === undefined) return; // every feature read from the field of its name
    const fPath = childPath(path, 'features');
    const features = this.c.object(t.features, fPath, [...schema.keys()], 'the features of the transform');
    if (features === undefined) return;
    for (const [feature, spec] of Object.entries(features)) {
      if (!schema.has(feature)) continue; // reported as an unknown field
      this.rowFeature(spec, childPath(fPath, feature), schema.get(feature));
    }
  }

  private rowFeature(raw: unknown, path: string, type: FeatureType | undefined): void {
    const f = this.c.object(raw, path, ['from', 'fn', 'args'], 'a feature transform');
    if (f === undefined) return;
    if (f.from !== undefined) this.c.field(f.from, childPath(path, 'from'));
    if (f.args !== undefined) {
      const args = this.c.array(f.args, childPath(path, 'args'), { nonEmpty: true }) ?? [];
      args.forEach((a, i) => {
        this.c.field(a, childPath(childPath(path, 'args'), i));
      });
    }
    if (f.fn === undefined) {
      if (f.args !== undefined) this.c.add(childPath(path, 'args'), '"args" goes with "fn"');
      if (f.from === undefined) this.c.add(path, 'give "from" (a field) or "fn" with "args"');
      return;
    }
    const fn = this.c.oneOf(f.fn, childPath(path, 'fn'), ROW_FUNCTIONS, 'row function');
    if (fn === undefined) return;
    const argCount =
      (f.args === undefined ? 0 : Array.isArray(f.args) ? f.args.length : 0) + (f.from === undefined ? 0 : 1);
    if (argCount === 0) this.c.add(path, `${fn} needs its input: "from" (a field) or "args" (fields)`);
    else if (ONE_FIELD.has(fn) && argCount > 1) this.c.add(path, `${fn} takes one field`);
    if (type !== undefined && !ROW_FUNCTION_TYPES[fn].includes(type)) {
      this.c.add(
        childPath(path, 'fn'),
        `${fn} produces ${ROW_FUNCTION_TYPES[fn].join(' or ')}, but the feature is declared ${type}`,
      );
    }
  }

  private windowTransform(raw: unknown, path: string, schema: Map<string, FeatureType | undefined>): void {
    const t = this.c.object(
      raw,
      path,
      ['kind', 'window', 'allowedLateness', 'aggregations'],
      'a window transform',
    );
    if (t === undefined) return;
    const window = this.c.required(t, 'window', path);
    if (window !== undefined) this.window(window, childPath(path, 'window'));
    if (t.allowedLateness !== undefined) {
      this.c.duration(t.allowedLateness, childPath(path, 'allowedLateness'), 'an allowed lateness', {
        allowZero: true,
      });
    }
    const aggPath = childPath(path, 'aggregations');
    const aggRaw = t.aggregations;
    if (aggRaw === undefined || (Array.isArray(aggRaw) && aggRaw.length === 0)) {
      this.c.add(aggPath, 'a window view needs at least one aggregation');
      return;
    }
    const aggs = this.c.array(aggRaw, aggPath) ?? [];
    const produced = new Map<string, string>();
    aggs.forEach((a, i) => {
      const at = childPath(aggPath, i);
      const agg = this.c.object(a, at, ['name', 'fn', 'field', 'k'], 'an aggregation');
      if (agg === undefined) return;
      const name = this.c.name(this.c.required(agg, 'name', at), childPath(at, 'name'));
      const fnRaw = this.c.required(agg, 'fn', at);
      const fn =
        fnRaw === undefined
          ? undefined
          : this.c.oneOf(fnRaw, childPath(at, 'fn'), AGGREGATIONS, 'aggregation');
      if (agg.field !== undefined) this.c.field(agg.field, childPath(at, 'field'));
      else if (fn !== undefined && fn !== 'count')
        this.c.add(childPath(at, 'field'), `${fn} needs "field" (the event field it aggregates)`);
      if (agg.k !== undefined) {
        if (fn !== 'top_k') this.c.add(childPath(at, 'k'), '"k" goes with top_k only');
        else this.c.integer(agg.k, childPath(at, 'k'), 1, TOP_K_MAX);
      }
      if (name === undefined) return;
      const first = produced.get(name);
      if (first !== undefined)
        this.c.add(childPath(at, 'name'), `the feature "${name}" is already produced by ${first}`);
      produced.set(name, at);
      if (!schema.has(name)) {
        this.c.add(childPath(at, 'name'), `the aggregation's output "${name}" is not in the view's schema`);
        return;
      }
      const type = schema.get(name);
      if (fn !== undefined && type !== undefined && !AGGREGATION_TYPES[fn].includes(type)) {
        this.c.add(
          childPath(at, 'fn'),
          `${fn} produces ${AGGREGATION_TYPES[fn].join(' or ')}, but "${name}" is declared ${type} in the schema`,
        );
      }
    });
    for (const feature of schema.keys()) {
      if (!produced.has(feature)) this.c.add(aggPath, `the schema's feature "${feature}" has no aggregation`);
    }
  }

  private window(raw: unknown, path: string): void {
    const type = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).type : undefined;
    const fields =
      type === 'tumbling'
        ? ['size']
        : type === 'hopping'
          ? ['size', 'hop']
          : type === 'session'
            ? ['gap']
            : ['size', 'hop', 'gap'];
    const w = this.c.object(raw, path, ['type', ...fields], 'a window');
    if (w === undefined) return;
    const kind = this.c.oneOf(
      w.type,
      childPath(path, 'type'),
      ['tumbling', 'hopping', 'session'],
      'window type',
    );
    if (kind === undefined) return;
    const dur = (key: string, what: string) => {
      const value = this.c.required(w, key, path);
      return value === undefined ? undefined : this.c.duration(value, childPath(path, key), what);
    };
    if (kind === 'session') {
      dur('gap', 'a session gap');
      return;
    }
    const size = dur('size', 'a window size');
    if (kind === 'hopping') {
      const hop = dur('hop', 'a hop');
      if (size !== undefined && hop !== undefined && hop > size) {
        this.c.add(childPath(path, 'hop'), 'the hop must not be longer than the window size');
      }
    }
  }

  private service(raw: unknown, path: string): Named {
    const s = this.c.object(raw, path, ['name', 'features', 'description'], 'a feature service');
    if (s === undefined) return { name: undefined, path };
    const name = this.c.name(this.c.required(s, 'name', path), childPath(path, 'name'));
    this.c.optionalText(s, 'description', path);
    const fPath = childPath(path, 'features');
    const featuresRaw = this.c.required(s, 'features', path);
    if (featuresRaw === undefined) return { name, path };
    const refs = this.c.array(featuresRaw, fPath, { nonEmpty: true }) ?? [];
    const seen = new Set<string>();
    refs.forEach((r, i) => {
      const at = childPath(fPath, i);
      if (typeof r !== 'string') {
        this.c.add(at, `expected "view" or "view:feature", got ${describe(r)}`);
        return;
      }
      if (seen.has(r)) this.c.add(at, `"${r}" is listed twice`);
      seen.add(r);
      this.featureRef(r, at);
    });
    return { name, path };
  }

  private featureRef(ref: string, at: string): void {
    const [viewName, feature, ...rest] = ref.split(':');
    if (rest.length > 0 || viewName === undefined || viewName === '') {
      this.c.add(at, `"${ref}" is not "view" or "view:feature"`);
      return;
    }
    const view = this.views.get(viewName);
    if (view === undefined) {
      this.c.add(at, `unknown feature view "${viewName}"${this.known([...this.views.keys()])}`);
      return;
    }
    if (feature !== undefined && !view.features.has(feature)) {
      this.c.add(at, `the view "${viewName}" has no feature "${feature}"${this.known([...view.features])}`);
    }
  }

  private pipeline(raw: unknown, path: string): Named {
    const p = this.c.object(
      raw,
      path,
      ['name', 'source', 'views', 'sinks', 'maxFutureSkew', 'maxAge'],
      'a pipeline',
    );
    if (p === undefined) return { name: undefined, path };
    const name = this.c.name(this.c.required(p, 'name', path), childPath(path, 'name'));
    const sourceRaw = this.c.required(p, 'source', path);
    let source: string | undefined;
    if (sourceRaw !== undefined) {
      source = this.c.name(sourceRaw, childPath(path, 'source'));
      if (source !== undefined) {
        if (!this.sources.has(source)) {
          this.c.add(
            childPath(path, 'source'),
            `unknown source "${source}"${this.known([...this.sources.keys()])}`,
          );
          source = undefined;
        } else if (this.sources.get(source) !== 'stream') {
          this.c.add(childPath(path, 'source'), `the pipeline's source "${source}" must be a stream source`);
        }
      }
    }
    const viewsPath = childPath(path, 'views');
    const viewsRaw = this.c.required(p, 'views', path);
    if (viewsRaw !== undefined) {
      (this.c.array(viewsRaw, viewsPath, { nonEmpty: true }) ?? []).forEach((v, i) => {
        const at = childPath(viewsPath, i);
        const ref = this.c.name(v, at);
        if (ref === undefined) return;
        const view = this.views.get(ref);
        if (view === undefined)
          this.c.add(at, `unknown feature view "${ref}"${this.known([...this.views.keys()])}`);
        else if (source !== undefined && view.source !== undefined && view.source !== source) {
          this.c.add(
            at,
            `the view "${ref}" reads the source "${view.source}", not the pipeline's "${source}"`,
          );
        }
      });
    }
    const sinksPath = childPath(path, 'sinks');
    const sinksRaw = this.c.required(p, 'sinks', path);
    if (sinksRaw !== undefined) {
      (this.c.array(sinksRaw, sinksPath, { nonEmpty: true }) ?? []).forEach((s, i) => {
        this.sink(s, childPath(sinksPath, i));
      });
    }
    if (p.maxFutureSkew !== undefined)
      this.c.duration(p.maxFutureSkew, childPath(path, 'maxFutureSkew'), 'a maximum future skew');
    if (p.maxAge !== undefined) this.c.duration(p.maxAge, childPath(path, 'maxAge'), 'a maximum age');
    return { name, path };
  }

  private sink(raw: unknown, path: string): void {
    const kind = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).kind : undefined;
    const s = this.c.object(
      raw,
      path,
      kind === 'predictions' ? ['kind', 'model', 'inputs'] : ['kind'],
      'a sink',
    );
    if (s === undefined) return;
    const k = this.c.oneOf(
      s.kind,
      childPath(path, 'kind'),
      ['online', 'offline', 'predictions'],
      'sink kind',
    );
    if (k !== 'predictions') return;
    const model = this.c.required(s, 'model', path);
    if (model !== undefined) this.c.text(model, childPath(path, 'model'), { nonEmpty: true });
    if (s.inputs !== undefined) {
      const inputs = this.c.object(
        s.inputs,
        childPath(path, 'inputs'),
        Object.keys(s.inputs ?? {}),
        'the inputs',
      );
      for (const [input, field] of Object.entries(inputs ?? {})) {
        this.c.field(field, childPath(childPath(path, 'inputs'), input));
      }
    }
  }
}
