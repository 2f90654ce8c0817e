import { assertEntityId } from '../core/entity-id.js';
import { ErrorCode, FerryError, isFerryError } from '../core/errors.js';
import { SETTINGS } from '../core/settings/catalogue.js';
import { inputFingerprint } from '../model/input-fingerprint.js';
import type { TextInput } from '../model/model.js';
import { predictionRows } from '../model/text-tensors.js';
import type { StoredPrediction, StoredPredictionStore } from '../ports/prediction-store.js';
import type { PredictionService } from './prediction-service.js';
import type { StoredPredictionPolicy } from './serving-config.js';

/** `write-back`: live answers of POST /v1/predictions/… are upserted into the store; `read-only`: never. */
export type { StoredPredictionPolicy } from './serving-config.js';

export interface StoredPredictionSettings {
  /** A stored prediction older than this (ms) is not served by POST; it is predicted again. */
  maxAgeMs: number;
  policy: StoredPredictionPolicy;
  /** How long a reading of the staleness gauge is reused (ms); default 5000. */
  stalenessCacheMs?: number;
}

const DEFAULT_STORED_SETTINGS: StoredPredictionSettings = {
  maxAgeMs: SETTINGS.FERRY_STORED_MAX_AGE_MS.default,
  policy: SETTINGS.FERRY_STORED_POLICY.default,
};

/**
 * What a lookup found: `hit` (a stored prediction that is served), `stale` (served by a plain
 * lookup although older than the max age), `miss` (nothing stored), `refreshed` (one was stored but
 * not for these inputs or too old, so the model answered).
 */
export type StoredLookupResult = 'hit' | 'stale' | 'miss' | 'refreshed';

/** What became of a live answer: stored, not stored (caller not allowed or read-only policy), or the write failed. */
export type WriteBack = 'written' | 'skipped' | 'failed';

export interface StoredAnswer {
  prediction: StoredPrediction;
  /** `store`: read from the store; `model`: predicted live by the served default alias. */
  source: 'store' | 'model';
  /** Age of `prediction` by the store's clock (0 for a live one). */
  ageMs: number;
  lookup: StoredLookupResult;
}

export interface LiveOrStoredAnswer extends StoredAnswer {
  /** Set when the model answered. */
  writeBack?: WriteBack;
  /** The store could not be read: the model answered instead (the caller logs it). */
  readError?: unknown;
  /** The write-back failed: the answer stands (the caller counts and logs it). */
  writeBackError?: unknown;
}

export interface LookupOrPredictRequest {
  model: string;
  entityId: string;
  input: TextInput;
  /** The caller may write its live answer back (it showed the predictions or admin token). */
  mayWriteBack: boolean;
  requestId?: string;
  /** Absolute time (performance.now() ms) after which a live answer is useless. */
  deadline?: number;
}

/** The FERRY_BATCH_NOT_FOUND (404) of a lookup that found nothing. */
export function storedNotFound(model: string, entityId: string): FerryError {
  return new FerryError(
    ErrorCode.BATCH_NOT_FOUND,
    `no stored prediction of model "${model}" for entity ${JSON.stringify(entityId)}; ` +
      'run "ferry batch predict" for it, or POST its inputs to this URL',
    { details: { model, entityId } },
  );
}

/**
 * Predictions computed ahead of time, without HTTP: a plain lookup, and read-through/write-back
 * (the stored prediction when it was computed from these very inputs and is recent enough, else a
 * live one of the served default alias, written back when the policy and the caller allow it). Also
 * the reading of the staleness gauge. Outcomes are returned, not logged or counted: the caller
 * (the HTTP routes) owns metrics and the request's log.
 */
export class StoredPredictionService {
  readonly settings: StoredPredictionSettings;

  constructor(
    private readonly deps: {
      store: StoredPredictionStore;
      /** Live answers, and which models and versions are served (for the staleness count). */
      predictions: Pick<PredictionService, 'predict' | 'host'>;
      settings?: StoredPredictionSettings;
    },
  ) {
    this.settings = deps.settings ?? DEFAULT_STORED_SETTINGS;
  }

  /** The stored prediction, whatever its age (`hit` or `stale`); undefined when none is stored. */
  async lookup(model: string, entityId: string): Promise<StoredAnswer | undefined> {
    const { store } = this.deps;
    const stored = await store.get(model, entityId);
    if (stored === undefined) return undefined;
    const ageMs = store.ageMs(stored);
    return {
      prediction: stored,
      source: 'store',
      ageMs,
      lookup: ageMs <= this.settings.maxAgeMs ? 'hit' : 'stale',
    };
  }

  /** The stored prediction of these inputs when fresh enough, otherwise a live one (maybe written back). */
  async lookupOrPredict(req: LookupOrPredictRequest): Promise<LiveOrStoredAnswer> {
    const { store } = this.deps;
    const { model, entityId, input } = req;
    assertEntityId(model, 'model');
    assertEntityId(entityId);
    const fingerprint = inputFingerprint(input);

    let stored: StoredPrediction | undefined;
    let readError: unknown;
    try {
      stored = await store.get(model, entityId);
    } catch (e) {
      // The model can always answer: a store that cannot be read is a miss, not a failed request.
      if (isFerryError(e, ErrorCode.BATCH_INVALID_ID)) throw e;
      readError = e;
    }
    if (stored !== undefined && stored.inputSha256 === fingerprint) {
      const ageMs = store.ageMs(stored);
      if (ageMs <= this.settings.maxAgeMs)
        return { prediction: stored, source: 'store', ageMs, lookup: 'hit' };
    }

    const fresh = await this.predictLive(req, fingerprint);
    const answer: LiveOrStoredAnswer = {
      prediction: fresh,
      source: 'model',
      ageMs: 0,
      lookup: stored === undefined ? 'miss' : 'refreshed',
      writeBack: 'skipped',
      ...(readError !== undefined ? { readError } : {}),
    };
    if (this.settings.policy === 'write-back' && req.mayWriteBack) {
      // Awaited, so a lookup that follows this answer reads what it returned; a failure only costs
      // the write-back, never the answer.
      try {
        await store.upsertMany([fresh]);
        answer.writeBack = 'written';
      } catch (e) {
        answer.writeBack = 'failed';
        answer.writeBackError = e;
      }
    }
    return answer;
  }

  /**
   * Per served model, the stored predictions not from the version its default alias serves now
   * (the reading of `ferry_stored_predictions_not_from_production`).
   */
  async notFromServedVersion(): Promise<Map<string, number>> {
    const { host } = this.deps.predictions;
    const counts = new Map<string, number>();
    for (const model of host.modelNames) {
      const version = host.current(model)?.version;
      if (version !== undefined) counts.set(model, await this.deps.store.countNotFromVersion(model, version));
    }
    return counts;
  }

  private async predictLive(req: LookupOrPredictRequest, fingerprint: string): Promise<StoredPrediction> {
    const result = await this.deps.predictions.predict({
      model: req.model,
      items: [req.input],
      ...(req.requestId !== undefined ? { requestId: req.requestId } : {}),
      ...(req.deadline !== undefined ? { deadline: req.deadline } : {}),
    });
    const p = result.predictions[0]!;
    return {
      model: result.model,
      entityId: req.entityId,
      version: result.version,
      inputSha256: fingerprint,
      outputs: predictionRows(result.classes, [p])[0]!,
      prediction: p.prediction,
      probabilities: { ...p.probabilities },
      computedAt: this.deps.store.now().toISOString(),
      jobId: null,
      source: 'live',
    };
  }
}
