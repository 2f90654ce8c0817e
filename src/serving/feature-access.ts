import { ErrorCode, FerryError } from '../core/errors.js';
import type { FeatureServiceDef } from '../features/feature-definitions.js';
import type { AppliedRepo, FeatureRepoStore } from '../features/feature-repo-store.js';
import {
  type OnlineReadRequest,
  type OnlineReadResponse,
  readOnlineFeatures,
} from '../features/online-read.js';
import type { Signature } from '../model/tensor.js';
import type { FeatureValue, OnlineFeatureStore } from '../ports/online-feature-store.js';

export interface FeatureAccessOptions {
  repoStore: Pick<FeatureRepoStore, 'appliedRepo'>;
  /** The online store, opened on first use (so a server starts while Redis is down). */
  online: () => Promise<OnlineFeatureStore>;
  /** How long the applied definitions are reused before they are read again. Default 1000 ms. */
  refreshMs?: number;
  now?: () => number;
}

/** One entity's model inputs read from the online store, with the features they came from. */
export interface EntityInputs {
  readonly service: string;
  readonly values: Readonly<Record<string, FeatureValue>>;
  /** The newest event time among the features read (ISO 8601). */
  readonly eventTime: string;
}

/**
 * The serving side of the feature store: online reads for `POST /v1/features/online`, and the
 * inputs of a model for an entity (`POST /predict {"project_id": "42"}`, v2 `parameters.entity`)
 * through the feature service that names the model. The applied definitions are cached for
 * `refreshMs`, so `ferry features apply` reaches a running server within a second.
 */
export class FeatureAccess {
  private readonly opts: FeatureAccessOptions;
  private cached: { repo: Promise<AppliedRepo>; at: number } | undefined;

  constructor(opts: FeatureAccessOptions) {
    this.opts = opts;
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  async applied(): Promise<AppliedRepo> {
    const now = this.now();
    if (this.cached === undefined || now - this.cached.at >= (this.opts.refreshMs ?? 1000)) {
      const repo = this.opts.repoStore.appliedRepo();
      this.cached = { repo, at: now };
      repo.catch(() => {
        if (this.cached?.repo === repo) this.cached = undefined;
      });
    }
    return this.cached.repo;
  }

  async read(req: OnlineReadRequest): Promise<OnlineReadResponse> {
    const applied = await this.applied();
    return readOnlineFeatures(applied, await this.opts.online(), req, this.now());
  }

  /** The feature service a model reads, if one names it. */
  async serviceFor(model: string): Promise<FeatureServiceDef | undefined> {
    return (await this.applied()).repo.services?.find((s) => s.model === model);
  }

  /**
   * The model's inputs for one entity: each input from the feature `inputs` maps it to (default:
   * the service's feature of the input's name). Every feature must be PRESENT: a missing or
   * expired one is FERRY_FEATURES_NOT_FOUND (404) naming it and its status, never a prediction
   * from a half-known entity.
   */
  async inputsFor(
    model: string,
    entity: Readonly<Record<string, string>>,
    inputNames: readonly string[],
  ): Promise<EntityInputs> {
    const service = await this.serviceFor(model);
    if (service === undefined) {
      throw new FerryError(
        ErrorCode.FEATURES_NOT_FOUND,
        `no feature service names the model "${model}": add "model": "${model}" to one in the feature definitions to predict by entity`,
        { details: { model } },
      );
    }
    const refs = inputNames.map((input) => service.inputs?.[input] ?? this.defaultRef(service, input));
    const response = await this.read({
      features: [...new Set(refs)],
      entities: Object.fromEntries(Object.entries(entity).map(([k, v]) => [k, [v]])),
    });
    const features = response.results[0]!.features;
    const missing = Object.entries(features).filter(([, r]) => r.status !== 'PRESENT');
    if (missing.length > 0) {
      throw new FerryError(
        ErrorCode.FEATURES_NOT_FOUND,
        `the online store has no fresh ${missing.map(([name]) => name).join(', ')} for ${describeEntity(entity)}`,
        {
          details: {
            entity,
            features: Object.fromEntries(missing.map(([name, r]) => [name, r.status])),
          },
        },
      );
    }
    const values: Record<string, FeatureValue> = {};
    let newest = '';
    inputNames.forEach((input, i) => {
      const r = features[refs[i]!]!;
      Object.defineProperty(values, input, { value: r.value, enumerable: true, writable: true });
      if (r.eventTime !== null && r.eventTime > newest) newest = r.eventTime;
    });
    return { service: service.name, values, eventTime: newest };
  }

  /** `view:feature` of the service's feature called `input` (a service lists `view` or `view:feature`). */
  private defaultRef(service: FeatureServiceDef, input: string): string {
    for (const entry of service.features) {
      const [view, feature] = entry.split(':');
      if (feature === input) return entry;
      if (feature === undefined) return `${view}:${input}`;
    }
    throw new FerryError(
      ErrorCode.FEATURES_NOT_FOUND,
      `the feature service "${service.name}" has no feature for the model input "${input}": map it in the service's "inputs"`,
      { details: { service: service.name, input } },
    );
  }
}

function describeEntity(entity: Readonly<Record<string, string>>): string {
  return Object.entries(entity)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');
}

/**
 * A v2 JSON `inputs` list from feature values, for the model's signature: one row (batch
 * dimension 1 when the signature has one), the datatype and shape the signature declares, so the
 * usual decoding and checks apply to features exactly as to a client's tensors.
 */
export function v2InputsFromFeatures(
  signature: Signature,
  values: Readonly<Record<string, FeatureValue>>,
): Array<{ name: string; datatype: string; shape: number[]; data: unknown[] }> {
  return signature.inputs.map((spec) => {
    const value = values[spec.name];
    const flat = flatten(value);
    const rowShape = shapeOf(value);
    const batched = spec.shape[0] === -1;
    return {
      name: spec.name,
      datatype: spec.datatype,
      shape: batched ? [1, ...rowShape] : rowShape.length === 0 ? [1] : rowShape,
      data: flat,
    };
  });
}

function flatten(value: FeatureValue | undefined): unknown[] {
  if (Array.isArray(value)) return (value as FeatureValue[]).flatMap((v) => flatten(v));
  return [value ?? null];
}

function shapeOf(value: FeatureValue | undefined): number[] {
  if (!Array.isArray(value)) return [];
  const items = value as FeatureValue[];
  return [items.length, ...(items.length > 0 ? shapeOf(items[0]) : [])];
}
