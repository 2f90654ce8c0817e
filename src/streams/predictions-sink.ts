import { entityIdProblem } from '../core/entity-id.js';
import { ErrorCode, FerryError, isFerryError } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';
import { inputFingerprint } from '../model/input-fingerprint.js';
import type { KindContext } from '../model/kinds/index.js';
import { isTextModel, type Model, type TextInput } from '../model/model.js';
import { inferRows } from '../model/rows.js';
import {
  canonicalTensors,
  type Datatype,
  isBatchable,
  isFloat,
  type NamedTensors,
  type Tensor,
  type TensorSpec,
} from '../model/tensor.js';
import { predictionRows } from '../model/text-tensors.js';
import { textInputProblem } from '../model/validate-input.js';
import type { FeatureValue } from '../ports/online-feature-store.js';
import type { StoredPrediction, StoredPredictionStore, StoredTensor } from '../ports/prediction-store.js';
import { loadModel } from '../registry/load-model.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import { isTransient } from './backoff.js';
import type { PipelinePlan } from './pipeline-plan.js';
import type { SinkLog, SinkRow } from './sinks.js';

export interface PredictionsDeps {
  readonly registry: ModelRegistry;
  readonly store: StoredPredictionStore;
  /** Where model kinds unpack and how long a call may take; default from the settings. */
  readonly kindContext?: KindContext;
  /** How often the model reference is resolved again, to follow an alias. Default 60 s. */
  readonly refreshMs?: number;
}

/** How often the model reference (e.g. `tagifai@production`) is resolved again, to follow an alias. */
const DEFAULT_REFRESH_MS = 60_000;

type Loaded = { readonly model: Model; readonly name: string; readonly version: number };
/** One model input and the feature that feeds it (`view:feature` or a feature of any view). */
type InputSource = {
  readonly input: TensorSpec;
  readonly view: string | undefined;
  readonly feature: string;
};

/**
 * The `{kind: 'predictions', model}` sink: after each batch, every entity whose state changed is
 * predicted by the model from its current feature values (all the pipeline's views, merged) and
 * the prediction is upserted into the prediction store under the entity key (jobId
 * `stream:<pipeline>`, source `batch`: computed ahead of time, as batch jobs do). The model is
 * loaded through the registry; an alias is resolved again every minute and a new version loaded
 * when it moved.
 *
 * Inputs: `inputs` maps a model input to a feature (`feature` or `view:feature`); an input not
 * mapped reads the feature of its own name. An entity whose values cannot be inputs (missing, wrong
 * type, a text the model refuses) is skipped and counted as refused, never blocking the stream.
 */
export class PredictionsSink {
  private loaded: Loaded | undefined;
  private sources: InputSource[] = [];
  private checkedAtMs = 0;

  constructor(
    private readonly plan: PipelinePlan,
    private readonly ref: string,
    private readonly inputs: Readonly<Record<string, string>>,
    private readonly deps: PredictionsDeps,
    private readonly log: SinkLog,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Loads the model and checks that every input has a feature (FERRY_STREAM_INVALID otherwise). */
  async init(): Promise<void> {
    await this.refresh(true);
  }

  async close(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = undefined;
    await loaded?.model.close?.();
  }

  /** Predicts and stores the rows' entities; returns how many were written and refused. */
  async write(rows: readonly SinkRow[]): Promise<{ written: number; refused: number }> {
    if (rows.length === 0) return { written: 0, refused: 0 };
    await this.refresh(false);
    const loaded = this.loaded!;
    const entities = mergeByEntity(rows);
    const computedAt = new Date(this.clock()).toISOString();
    // Each row is a plain literal (`stored(...)`), not `{ ...base, entityId, … }`: on Node 20 a
    // spread followed by new keys leaves V8's fast path, about 1 µs a key on every row.
    const model = loaded.name;
    const version = loaded.version;
    const jobId = `stream:${this.plan.name}`;
    const stored = (
      entityId: string,
      inputSha256: string,
      outputs: Record<string, StoredTensor>,
    ): StoredPrediction => ({
      model,
      version,
      computedAt,
      jobId,
      source: 'batch',
      entityId,
      inputSha256,
      outputs,
    });
    let refused = 0;
    const out: StoredPrediction[] = [];
    if (isTextModel(loaded.model)) {
      const items: Array<{ entityId: string; input: TextInput }> = [];
      for (const [entityId, values] of entities) {
        const input = this.textInput(values);
        const problem =
          typeof input === 'string'
            ? input
            : (entityIdProblem(entityId) ?? textInputProblem(input.title, input.description));
        if (problem !== undefined || typeof input === 'string') {
          refused += this.refuse(entityId, problem ?? 'bad input');
          continue;
        }
        items.push({ entityId, input });
      }
      const classifier = loaded.model;
      const predictions = classifier.predictBatch(items.map((i) => i.input));
      items.forEach((item, i) => {
        const p = predictions[i]!;
        const row = stored(
          item.entityId,
          inputFingerprint(item.input),
          predictionRows(classifier.classes, [p])[0] as Record<string, StoredTensor>,
        );
        row.prediction = p.prediction;
        row.probabilities = p.probabilities as Record<string, number>;
        out.push(row);
      });
    } else {
      const items: Array<{ entityId: string; tensors: NamedTensors }> = [];
      const batchable = isBatchable(loaded.model.signature);
      for (const [entityId, values] of entities) {
        const tensors = this.tensors(values, batchable);
        const problem = typeof tensors === 'string' ? tensors : entityIdProblem(entityId);
        if (problem !== undefined || typeof tensors === 'string') {
          refused += this.refuse(entityId, problem ?? 'bad input');
          continue;
        }
        items.push({ entityId, tensors });
      }
      const outputs = await this.infer(
        loaded.model,
        items.map((i) => i.tensors),
      );
      items.forEach((item, i) => {
        const o = outputs[i];
        if (o instanceof Error) {
          refused += this.refuse(item.entityId, o.message);
          return;
        }
        out.push(
          stored(item.entityId, sha256Hex(canonicalTensors(item.tensors)), o as Record<string, StoredTensor>),
        );
      });
    }
    if (out.length > 0) await this.deps.store.upsertMany(out);
    return { written: out.length, refused };
  }

  /** All rows at once; when the model fails (not transiently), each row alone, its error kept. */
  private async infer(model: Model, rows: readonly NamedTensors[]): Promise<Array<NamedTensors | Error>> {
    if (rows.length === 0) return [];
    try {
      return await inferRows(model, rows);
    } catch (e) {
      if (isTransient(e) || rows.length === 1) {
        if (isTransient(e)) throw e;
        return [e instanceof Error ? e : new Error(String(e))];
      }
      const out: Array<NamedTensors | Error> = [];
      for (const row of rows) out.push(...(await this.infer(model, [row])));
      return out;
    }
  }

  private refuse(entityId: string, reason: string): number {
    this.log.warn(
      { sink: 'predictions', model: this.ref, entityKey: entityId, reason },
      'no prediction for an entity',
    );
    return 1;
  }

  private value(values: ReadonlyMap<string, FeatureValue>, source: InputSource): FeatureValue | undefined {
    return values.get(source.view === undefined ? source.feature : `${source.view}:${source.feature}`);
  }

  private textInput(values: ReadonlyMap<string, FeatureValue>): TextInput | string {
    const text: Record<string, string> = {};
    for (const source of this.sources) {
      const v = this.value(values, source);
      if (v === null || v === undefined) text[source.input.name] = '';
      else if (typeof v === 'string') text[source.input.name] = v;
      else return `input "${source.input.name}" (feature ${source.feature}) is not text`;
    }
    return { title: text.title ?? '', description: text.description ?? '' };
  }

  private tensors(values: ReadonlyMap<string, FeatureValue>, batchable: boolean): NamedTensors | string {
    const out: Record<string, Tensor> = {};
    for (const source of this.sources) {
      const v = this.value(values, source);
      if (v === null || v === undefined)
        return `input "${source.input.name}": feature ${source.feature} has no value`;
      const t = featureTensor(source.input, v, batchable);
      if (typeof t === 'string') return `input "${source.input.name}": ${t}`;
      out[source.input.name] = t;
    }
    return out;
  }

  private async refresh(first: boolean): Promise<void> {
    const now = this.clock();
    if (!first && now - this.checkedAtMs < (this.deps.refreshMs ?? DEFAULT_REFRESH_MS)) return;
    this.checkedAtMs = now;
    let version: number;
    try {
      version = (await this.deps.registry.resolve(this.ref)).version;
    } catch (e) {
      // Keep predicting with the loaded version while the registry cannot answer.
      if (!first && this.loaded !== undefined) {
        this.log.warn(
          { model: this.ref, err: isFerryError(e) ? e.toJSON() : String(e) },
          'cannot resolve the model',
        );
        return;
      }
      throw e;
    }
    if (this.loaded?.version === version) return;
    let loaded: Awaited<ReturnType<typeof loadModel>>;
    let sources: InputSource[];
    try {
      loaded = await loadModel(
        this.deps.registry,
        this.ref,
        ...(this.deps.kindContext ? [this.deps.kindContext] : []),
      );
      sources = resolveInputs(this.plan, this.ref, loaded.model, this.inputs);
    } catch (e) {
      // A new version that cannot load (or lacks an input) does not stop the pipeline: the one
      // loaded goes on predicting, and the move is tried again at the next refresh.
      if (first || this.loaded === undefined) throw e;
      this.log.warn(
        { model: this.ref, version, err: isFerryError(e) ? e.toJSON() : String(e) },
        'cannot load the new model version; keeping the loaded one',
      );
      return;
    }
    const { version: v, model } = loaded;
    const old = this.loaded;
    this.loaded = { model, name: v.name, version: v.version };
    this.sources = sources;
    await old?.model.close?.();
  }
}

/** Feature values per entity, keyed both `view:feature` and `feature` (the first view wins a clash). */
function mergeByEntity(rows: readonly SinkRow[]): Map<string, Map<string, FeatureValue>> {
  const out = new Map<string, Map<string, FeatureValue>>();
  for (const row of rows) {
    let values = out.get(row.entityKey);
    if (values === undefined) {
      values = new Map();
      out.set(row.entityKey, values);
    }
    for (const [name, value] of Object.entries(row.values)) {
      values.set(`${row.view.name}:${name}`, value);
      if (!values.has(name)) values.set(name, value);
    }
  }
  return out;
}

function resolveInputs(
  plan: PipelinePlan,
  ref: string,
  model: Model,
  inputs: Readonly<Record<string, string>>,
): InputSource[] {
  return model.signature.inputs.map((input) => {
    const mapped = Object.hasOwn(inputs, input.name) ? inputs[input.name]! : input.name;
    const [view, feature] = mapped.includes(':')
      ? (mapped.split(':', 2) as [string, string])
      : [undefined, mapped];
    const found = plan.views.some(
      (v) => (view === undefined || v.name === view) && v.def.schema.some((f) => f.name === feature),
    );
    if (!found) {
      throw new FerryError(
        ErrorCode.STREAM_INVALID,
        `pipeline "${plan.name}": the model ${ref} needs the input "${input.name}", and no view of the pipeline has the feature "${mapped}" (map it with the sink's "inputs")`,
        { details: { pipeline: plan.name, input: input.name } },
      );
    }
    return { input, view, feature };
  });
}

/**
 * A feature value as one item of a model input: a scalar, or a flat list filling the last
 * dimension, every other dimension 1 (the batch dimension left out when the model stacks rows).
 */
function featureTensor(spec: TensorSpec, value: FeatureValue, batchable: boolean): Tensor | string {
  const itemShape = batchable ? spec.shape.slice(1) : spec.shape;
  const list = Array.isArray(value);
  const data = list ? (value as FeatureValue[]) : [value];
  if (itemShape.length === 0 && list) return `a list does not fit the scalar input ${spec.name}`;
  const shape = itemShape.map((_, i) => (i === itemShape.length - 1 && list ? data.length : 1));
  if (shape.some((d, i) => itemShape[i] !== -1 && itemShape[i] !== d)) {
    return `a value of ${data.length} element(s) does not fit the shape ${JSON.stringify(spec.shape)}`;
  }
  const problem = data.map((v) => elementProblem(spec.datatype, v)).find((p) => p !== undefined);
  if (problem !== undefined) return problem;
  return { datatype: spec.datatype, shape, data: data as Tensor['data'] };
}

function elementProblem(datatype: Datatype, v: FeatureValue): string | undefined {
  if (datatype === 'BYTES') return typeof v === 'string' ? undefined : 'expected text';
  if (datatype === 'BOOL') return typeof v === 'boolean' ? undefined : 'expected true or false';
  if (typeof v !== 'number' || !Number.isFinite(v)) return `expected a number for ${datatype}`;
  if (!isFloat(datatype) && !Number.isInteger(v)) return `expected an integer for ${datatype}`;
  return undefined;
}
