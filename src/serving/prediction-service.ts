import { randomUUID } from 'node:crypto';
import { ErrorCode, FerryError, isFerryError } from '../core/errors.js';
import { nextCheckPhase } from '../core/event-loop.js';
import { checkIdentifier } from '../core/text-guard.js';
import { checkInputs } from '../model/check-inputs.js';
import { isTextModel, type Prediction, type TextInput } from '../model/model.js';
import { concatRows, type NamedTensors, rowCount, type Signature, splitRows } from '../model/tensor.js';
import { normalizeTextInputs, predictionOfRow, textInputsOf, textRow } from '../model/text-tensors.js';
import { validateTextInput } from '../model/validate-input.js';
import type { ExperimentRoute, ExperimentRouting } from '../ports/experiment-routing.js';
import type { PredictionEvent, PredictionObserver } from '../ports/prediction-observer.js';
import type { ModelHost, ServedModel } from './model-host.js';
import type { PredictionCache } from './prediction-cache.js';
import type { PredictionLogger } from './prediction-log/prediction-logger.js';

/**
 * What observers of this service see: items (rows of a batchable model, whole requests of any other)
 * answered with output tensors of the same shape. See model/rows.ts.
 */
export type ServedPredictionEvent = PredictionEvent<NamedTensors, NamedTensors>;
export type ServedPredictionObserver = PredictionObserver<NamedTensors, NamedTensors>;

/** Which version answers: an alias (default: the host's default alias) or an explicit version. */
export type VersionSelector =
  | { alias?: string; version?: undefined }
  | { version: number; alias?: undefined };

interface RequestBase {
  model: string;
  /** An explicit version or alias; when absent (or empty) and `unit` is given, an experiment may pick. */
  selector?: VersionSelector;
  requestId?: string;
  /** The experiment unit (user id): X-Ferry-Unit, v2 `parameters.unit_id` or /predict's `unit`. */
  unit?: string;
  /** Absolute time (performance.now() ms) after which the answer is useless. */
  deadline?: number;
}

/** The course's text API (`/predict`, stored predictions): text items, text models only. */
export interface PredictRequest extends RequestBase {
  items: readonly TextInput[];
}

/** Any model: the request's tensors as sent, checked against the signature of the version that answers. */
export interface InferRequest extends RequestBase {
  inputs: NamedTensors;
  /** Per-request text limits, applied when the version is a text model (v2's checks of /predict's rule). */
  textLimits?: { maxStringLength: number };
  /** Rows per request for batchable models. */
  maxItems?: number;
  /** Outputs the client asked for: each must be one of the signature's (V2_INVALID_REQUEST otherwise). */
  requestedOutputs?: readonly string[];
}

interface Answered {
  model: string;
  version: number;
  /** The model's class order (the column order of probability tensors); empty when it has none. */
  classes: readonly string[];
  cacheHits: number;
  /** Set when an experiment picked the version: its name and the arm. */
  experiment?: string;
  arm?: string;
}

export interface InferResult extends Answered {
  /** The outputs of the whole request (rows stacked again for a batchable model). */
  outputs: NamedTensors;
  /** The signature of the version that answered. */
  signature: Signature;
}

export interface PredictResult extends Answered {
  predictions: Prediction[];
}

/** How a request becomes items once the version that answers is known. */
type ItemsOf = (served: ServedModel) => NamedTensors[];

export interface PredictionServiceHooks {
  onPredictions?(
    model: string,
    version: number,
    source: 'model' | 'cache',
    count: number,
    seconds: number,
  ): void;
  onCache?(result: 'hit' | 'miss' | 'error', count: number): void;
  onShed?(model: string, reason: 'overloaded' | 'deadline'): void;
  /** A request routed by an experiment (after its answer). */
  onRouted?(decision: ExperimentRoute): void;
  /** An experiment's arm could not be resolved: the request fell back to the default version. */
  onRouteFallback?(decision: ExperimentRoute, error: unknown): void;
  /** An observer threw (the request was not affected). */
  onObserverError?(error: unknown): void;
}

function isDefaultSelector(selector: VersionSelector | undefined): boolean {
  return selector === undefined || (selector.version === undefined && selector.alias === undefined);
}

/**
 * The serving use case without HTTP: pick the version (an experiment's arm when a router is given,
 * the request names a unit and no explicit version), answer from the cache what it has, batch the
 * rest through the model, fill the cache, log every prediction off the request path, record the
 * exposure and tell the observers.
 */
export class PredictionService {
  private observers: readonly ServedPredictionObserver[];

  constructor(
    private readonly deps: {
      host: ModelHost;
      cache?: PredictionCache<NamedTensors, NamedTensors> | undefined;
      logger?: PredictionLogger | undefined;
      hooks?: PredictionServiceHooks;
      router?: ExperimentRouting | undefined;
      observers?: readonly ServedPredictionObserver[];
    },
  ) {
    this.observers = [...(deps.observers ?? [])];
  }

  get router(): ExperimentRouting | undefined {
    return this.deps.router;
  }

  /** Adds an observer (shadow mirror, canary controller…); returns the function that removes it. */
  addObserver(observer: ServedPredictionObserver): () => void {
    this.observers = [...this.observers, observer];
    return () => {
      this.observers = this.observers.filter((o) => o !== observer);
    };
  }

  get host(): ModelHost {
    return this.deps.host;
  }

  /**
   * The loaded model for a selector. `limited`: an explicit version asked for by a client, loaded
   * (when it is not loaded yet) only within the on-demand budget and rate.
   */
  async resolve(
    model: string,
    selector: VersionSelector = {},
    opts: { limited?: boolean } = {},
  ): Promise<ServedModel> {
    const { host } = this.deps;
    if (!host.modelNames.includes(model)) {
      throw new FerryError(
        ErrorCode.SERVING_UNKNOWN_MODEL,
        `model "${model}" is not served here; served: ${host.modelNames.join(', ')}`,
      );
    }
    if (selector.version !== undefined) {
      try {
        return await host.version(model, selector.version, opts);
      } catch (e) {
        if (isFerryError(e, ErrorCode.REGISTRY_NOT_FOUND)) {
          throw new FerryError(
            ErrorCode.SERVING_UNKNOWN_MODEL,
            `model "${model}" has no version ${selector.version}`,
            { cause: e },
          );
        }
        throw e;
      }
    }
    const alias = selector.alias ?? host.defaultAlias;
    const served = host.current(model, alias);
    if (!served) {
      throw new FerryError(
        ErrorCode.SERVING_UNKNOWN_MODEL,
        `model "${model}" has no alias "${alias}" served here`,
      );
    }
    return served;
  }

  /** The version a selector names when it is loaded already (what resolve() would return at once), else undefined. */
  private loadedFor(model: string, selector: VersionSelector | undefined): ServedModel | undefined {
    const { host } = this.deps;
    if (selector?.version !== undefined) return host.loaded(model, selector.version);
    return host.current(model, selector?.alias ?? host.defaultAlias);
  }

  /** The course's text API: text items in, Predictions out; MODEL_WRONG_KIND when the version is not a text model. */
  async predict(req: PredictRequest): Promise<PredictResult> {
    const rows = req.items.map(textRow);
    const { answered, outputs } = await this.run(req, (served) => {
      if (!isTextModel(served.model)) {
        throw new FerryError(
          ErrorCode.MODEL_WRONG_KIND,
          `${served.name}/${served.version} is a ${served.model.kind} model; /predict takes text models only (use POST /v2/models/${served.name}/infer)`,
        );
      }
      return rows;
    });
    const predictions = outputs.map((row) => predictionOfRow(answered.classes, row));
    return Object.assign(answered, { predictions });
  }

  /** Any model: the request's tensors, checked against the answering version's signature, answered as tensors. */
  async infer(req: InferRequest): Promise<InferResult> {
    const { answered, outputs, served } = await this.run(req, (s) => itemsOfRequest(s, req));
    return Object.assign(answered, {
      outputs: served.batchable ? concatRows(outputs) : outputs[0]!,
      signature: served.model.signature,
    });
  }

  /**
   * Routes, resolves, answers, exposes and notifies. `answered` is a fresh object the callers
   * complete (no copy on the hot path); `outputs` are the items' answers, in order.
   */
  private async run(
    req: RequestBase,
    itemsOf: ItemsOf,
  ): Promise<{ answered: Answered; outputs: NamedTensors[]; served: ServedModel }> {
    const started = performance.now();
    // Every entry point's identifiers end here (routes check them first with precise messages):
    // bounded and NUL-free before they reach the router, observers and the log.
    if (req.unit !== undefined) checkIdentifier(req.unit, 'unit');
    if (req.requestId !== undefined) checkIdentifier(req.requestId, 'request id');
    const { hooks, router } = this.deps;
    let decision: ExperimentRoute | undefined;
    if (router !== undefined && req.unit !== undefined && isDefaultSelector(req.selector)) {
      decision = router.route(req.model, req.unit);
    }
    // Almost always the version is loaded: taken synchronously, without a promise and a microtask
    // per request. Otherwise resolve() loads it or says why not.
    let served = this.loadedFor(req.model, decision === undefined ? req.selector : decision.selector);
    if (served === undefined) {
      if (decision === undefined) {
        // A version the client named is subject to the on-demand limits; an experiment's arm is not.
        served = await this.resolve(req.model, req.selector, { limited: true });
      } else {
        try {
          served = await this.resolve(req.model, decision.selector);
        } catch (e) {
          // An arm that cannot be served (its version gone, say) must not fail users: default version.
          hooks?.onRouteFallback?.(decision, e);
          decision = undefined;
          served = await this.resolve(req.model, req.selector, { limited: true });
        }
      }
    }
    // A request that does not fit this version's signature is the caller's mistake: thrown before
    // the observers hear of it, so a canary does not count it against the version.
    const items = itemsOf(served);
    try {
      const { answered, outputs } = await this.answer(req, items, served, started, decision);
      if (decision !== undefined) {
        router!.expose(decision, req.unit!, served.version);
        hooks?.onRouted?.(decision);
        answered.experiment = decision.experiment;
        answered.arm = decision.arm;
      }
      if (this.observers.length > 0) {
        this.notify(req, items, served, decision, {
          predictions: outputs,
          cacheHits: answered.cacheHits,
          latencyMs: performance.now() - started,
        });
      }
      return { answered, outputs, served };
    } catch (e) {
      if (this.observers.length > 0) {
        this.notify(req, items, served, decision, {
          cacheHits: 0,
          latencyMs: performance.now() - started,
          error: e,
        });
      }
      throw e;
    }
  }

  private notify(
    req: RequestBase,
    items: readonly NamedTensors[],
    served: ServedModel,
    decision: ExperimentRoute | undefined,
    outcome: Pick<ServedPredictionEvent, 'predictions' | 'cacheHits' | 'latencyMs' | 'error'>,
  ): void {
    // Built field by field rather than with spreads: this runs for every request an observer
    // watches (a canary's, a shadow's, the monitor's), and each spread allocated a temporary object.
    const event: ServedPredictionEvent = {
      model: served.name,
      version: served.version,
      items,
      cacheHits: outcome.cacheHits,
      latencyMs: outcome.latencyMs,
    };
    if (outcome.predictions !== undefined) event.predictions = outcome.predictions;
    if (outcome.error !== undefined) event.error = outcome.error;
    if (decision !== undefined) {
      event.experiment = decision.experiment;
      event.arm = decision.arm;
    }
    if (req.unit !== undefined) event.unit = req.unit;
    if (req.requestId !== undefined) event.requestId = req.requestId;
    for (const observer of this.observers) {
      try {
        observer.onPrediction(event);
      } catch (e) {
        try {
          this.deps.hooks?.onObserverError?.(e);
        } catch {
          // A failing report must not reach the request either.
        }
      }
    }
  }

  private async answer(
    req: RequestBase,
    items: readonly NamedTensors[],
    served: ServedModel,
    started: number,
    decision: ExperimentRoute | undefined,
  ): Promise<{ answered: Answered; outputs: NamedTensors[] }> {
    const { cache, hooks } = this.deps;
    const looked = cache
      ? await cache.lookup(served.name, served.version, items, served.meta.artifactSha256)
      : undefined;
    const predictions: (NamedTensors | undefined)[] =
      looked?.predictions ?? new Array(items.length).fill(undefined);
    const missIdx: number[] = [];
    predictions.forEach((p, i) => {
      if (!p) missIdx.push(i);
    });
    const hits = items.length - missIdx.length;
    if (looked) {
      if (looked.hits > 0) hooks?.onCache?.('hit', looked.hits);
      if (looked.misses > 0) hooks?.onCache?.('miss', looked.misses);
      // A failed lookup (Redis down, an unreadable entry) is answered by the model, and counted apart.
      if (looked.errors > 0) hooks?.onCache?.('error', looked.errors);
    }
    // All answered from the cache: still reply in the check phase, with the other replies of this
    // event-loop turn, as batched replies are. Measured with bench/serving: replying straight from
    // the poll phase halved throughput under load (8,200 vs 16,100 req/s, p99 32 vs 9 ms).
    if (missIdx.length === 0) await nextCheckPhase();
    if (missIdx.length > 0) {
      const missItems = missIdx.map((i) => items[i]!);
      let computed: NamedTensors[];
      try {
        computed = await served.batcher.submit(
          missItems,
          req.deadline !== undefined ? { deadline: req.deadline } : {},
        );
      } catch (e) {
        if (isFerryError(e, ErrorCode.SERVING_OVERLOADED)) hooks?.onShed?.(served.name, 'overloaded');
        if (isFerryError(e, ErrorCode.SERVING_DEADLINE)) hooks?.onShed?.(served.name, 'deadline');
        throw e;
      }
      missIdx.forEach((i, k) => {
        predictions[i] = computed[k]!;
      });
      if (cache)
        void cache.setMany(served.name, served.version, missItems, computed, served.meta.artifactSha256);
    }
    const seconds = (performance.now() - started) / 1000;
    if (hits > 0) hooks?.onPredictions?.(served.name, served.version, 'cache', hits, seconds);
    if (missIdx.length > 0)
      hooks?.onPredictions?.(served.name, served.version, 'model', missIdx.length, seconds);
    const done = predictions as NamedTensors[];
    this.log(req, items, served, decision, done, missIdx, seconds * 1000);
    return {
      answered: {
        model: served.name,
        version: served.version,
        classes: served.model.classes,
        cacheHits: hits,
      },
      outputs: done,
    };
  }

  /** One record per request: request-level fields once, then the items (the logger caps its size). */
  private log(
    req: RequestBase,
    items: readonly NamedTensors[],
    served: ServedModel,
    decision: ExperimentRoute | undefined,
    predictions: NamedTensors[],
    missIdx: number[],
    latencyMs: number,
  ): void {
    const { logger } = this.deps;
    if (!logger) return;
    const fromModel = new Set(missIdx);
    logger.log({
      requestId: req.requestId ?? randomUUID(),
      at: new Date().toISOString(),
      model: served.name,
      version: served.version,
      ...(req.unit !== undefined ? { unit: req.unit } : {}),
      ...(decision !== undefined ? { experiment: decision.experiment, arm: decision.arm } : {}),
      latencyMs,
      itemCount: items.length,
      items: items.map((input, i) => {
        const source = fromModel.has(i) ? ('model' as const) : ('cache' as const);
        if (isTextModel(served.model)) {
          // The text classifier's records keep their columns (title, description, prediction, probabilities).
          const [text] = textInputsOf(input);
          const p = predictionOfRow(served.model.classes, predictions[i]!);
          return {
            title: text?.title ?? '',
            description: text?.description ?? '',
            prediction: p.prediction,
            probabilities: { ...p.probabilities },
            source,
          };
        }
        return { inputs: input, outputs: predictions[i]!, source };
      }),
    });
  }
}

/**
 * The items of a v2 request for the version that answers: its tensors checked against the
 * signature, then cut into rows when the model is batchable, or kept whole.
 */
function itemsOfRequest(served: ServedModel, req: InferRequest): NamedTensors[] {
  const { model } = served;
  const text = isTextModel(model);
  const inputs = text ? normalizeTextInputs(req.inputs) : req.inputs;
  checkInputs(model.signature, inputs, served.batchable, {
    code: ErrorCode.V2_INVALID_REQUEST,
    ...(req.maxItems !== undefined ? { maxItems: req.maxItems } : {}),
  });
  for (const name of req.requestedOutputs ?? []) {
    if (!model.signature.outputs.some((o) => o.name === name)) {
      throw new FerryError(
        ErrorCode.V2_INVALID_REQUEST,
        `unknown output "${name}"; this model produces ${model.signature.outputs.map((o) => `"${o.name}"`).join(', ')}`,
        { details: { tensor: name } },
      );
    }
  }
  if (text) {
    // Same rule as /predict: an item needs some text.
    for (const [i, item] of textInputsOf(inputs).entries()) {
      validateTextInput(item, `item ${i}`, req.textLimits);
    }
  }
  if (!served.batchable) return [inputs];
  return splitRows(inputs, rowCount(inputs) ?? 0);
}
