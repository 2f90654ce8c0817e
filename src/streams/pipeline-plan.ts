import { parseDuration } from '../core/duration.js';
import { ErrorCode, FerryError } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';
import type {
  Duration,
  FeatureRepoDef,
  FeatureViewDef,
  PipelineDef,
  SinkDef,
  StreamSourceDef,
} from '../features/feature-definitions.js';
import { type CompiledRowView, compileRowView, joinKeysOf } from '../features/row-transform.js';
import { DEFAULT_ID_FIELD } from '../features/stream-events.js';
import { compileWindowView, type WindowView } from '../features/windows/window-view.js';

/** One view of a pipeline, compiled: row by row, or by windows. */
export interface PlannedView {
  readonly name: string;
  readonly def: FeatureViewDef;
  /** Written to the online store (the view's `online`, default true). */
  readonly online: boolean;
  readonly ttlMs: number;
  /** The join keys of its entities, in declared order. */
  readonly joinKeys: readonly string[];
  /**
   * A hash of what the stored state depends on (schema, transform, entities): state written under
   * another definition is dropped, never merged with accumulators it does not match.
   */
  readonly definitionHash: string;
  readonly row: CompiledRowView | undefined;
  readonly window: WindowView | undefined;
  /**
   * Whether the view's state is kept in SQL: always for window views; for a row view only when a
   * predictions sink needs an entity's current values. Otherwise a redelivered event re-emits its
   * own values, which the online store (newer event time wins) and the offline store (one row per
   * event time) take exactly as they took the first time.
   */
  readonly keepsState: boolean;
}

/** A stream pipeline ready to run: its stream, the field names events need, its views and sinks. */
export interface PipelinePlan {
  readonly name: string;
  readonly source: string;
  readonly stream: string;
  readonly timestampField: string;
  /** The field holding each event's id (the stream source's `idField`, default `id`). */
  readonly idField: string;
  readonly views: readonly PlannedView[];
  readonly sinks: readonly SinkDef[];
  readonly maxFutureSkewMs: number;
  readonly maxAgeMs: number;
}

const DEFAULT_MAX_FUTURE_SKEW_MS = 3_600_000;
const DEFAULT_MAX_AGE_MS = 30 * 86_400_000;

function invalid(message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError(ErrorCode.STREAM_INVALID, message, { details });
}

/**
 * The pipeline `name` of a (validated) feature repository, compiled. FERRY_STREAM_NOT_FOUND lists
 * the known pipelines; FERRY_STREAM_INVALID when its source is not a stream, a view reads another
 * source, or the sinks cannot work together (a predictions sink over views of different entities).
 */
export function planPipeline(repo: FeatureRepoDef, name: string): PipelinePlan {
  const pipelines = repo.pipelines ?? [];
  const pipeline = pipelines.find((p) => p.name === name);
  if (pipeline === undefined) {
    throw new FerryError(
      ErrorCode.STREAM_NOT_FOUND,
      `no pipeline "${name}"; the feature repository has ${pipelines.length === 0 ? 'none' : pipelines.map((p) => p.name).join(', ')}`,
      { details: { pipeline: name, known: pipelines.map((p) => p.name) } },
    );
  }
  const source = repo.sources.find((s) => s.name === pipeline.source);
  if (source?.kind !== 'stream') {
    throw invalid(`pipeline "${name}": its source "${pipeline.source}" is not a stream source`, {
      pipeline: name,
    });
  }
  const predicts = pipeline.sinks.some((s) => s.kind === 'predictions');
  const views = pipeline.views.map((viewName) => planView(repo, pipeline, source, viewName, predicts));
  if (views.length === 0) throw invalid(`pipeline "${name}" computes no view`, { pipeline: name });
  if (predicts) {
    const keys = new Set(views.map((v) => v.joinKeys.join(',')));
    if (keys.size > 1) {
      throw invalid(
        `pipeline "${name}": a predictions sink predicts per entity, but its views have different join keys (${[...keys].join(' / ')})`,
        { pipeline: name },
      );
    }
  }
  return {
    name,
    source: source.name,
    stream: source.stream,
    timestampField: source.timestampField,
    idField: source.idField ?? DEFAULT_ID_FIELD,
    views,
    sinks: pipeline.sinks,
    maxFutureSkewMs: durationOr(pipeline.maxFutureSkew, DEFAULT_MAX_FUTURE_SKEW_MS, `${name}.maxFutureSkew`),
    maxAgeMs: durationOr(pipeline.maxAge, DEFAULT_MAX_AGE_MS, `${name}.maxAge`),
  };
}

function planView(
  repo: FeatureRepoDef,
  pipeline: PipelineDef,
  source: StreamSourceDef,
  viewName: string,
  predicts: boolean,
): PlannedView {
  const def = repo.views.find((v) => v.name === viewName);
  if (def === undefined) {
    throw invalid(`pipeline "${pipeline.name}": no view "${viewName}"`, { pipeline: pipeline.name });
  }
  if (def.source !== source.name) {
    throw invalid(
      `pipeline "${pipeline.name}": view "${viewName}" reads "${def.source}", not the pipeline's source "${source.name}"`,
      { pipeline: pipeline.name },
    );
  }
  const joinKeys = joinKeysOf(repo, def);
  if (joinKeys.length === 0) throw invalid(`view "${viewName}" has no join key`, { view: viewName });
  const window = def.transform.kind === 'window' ? compileWindowView(def) : undefined;
  // compileRowView reads the event time from the view's batch source: here the events' own field,
  // so it is given the stream source's fields under a batch kind.
  const row =
    def.transform.kind === 'row'
      ? compileRowView(
          {
            ...repo,
            sources: [{ kind: 'file', name: source.name, path: '', timestampField: source.timestampField }],
          },
          def,
        )
      : undefined;
  return {
    name: def.name,
    def,
    online: def.online !== false,
    ttlMs: durationOr(def.ttl, 0, `${def.name}.ttl`),
    joinKeys,
    definitionHash: definitionHash(def, joinKeys),
    row,
    window,
    keepsState: window !== undefined || predicts,
  };
}

function definitionHash(def: FeatureViewDef, joinKeys: readonly string[]): string {
  // A TypeScript `map` function has no JSON form: its source text stands for it.
  const text = JSON.stringify({ schema: def.schema, transform: def.transform, joinKeys }, (_k, v: unknown) =>
    typeof v === 'function' ? String(v) : v,
  );
  return sha256Hex(text).slice(0, 16);
}

function durationOr(value: Duration | undefined, fallback: number, where: string): number {
  if (value === undefined) return fallback;
  const r = parseDuration(value);
  if (!r.ok || r.ms < 0) throw invalid(`${where}: ${r.ok ? 'must not be negative' : r.reason}`);
  return r.ms;
}
