import { ErrorCode, FerryError } from '../core/errors.js';
import { generateInputs } from '../model/generate-inputs.js';
import { isTextModel, type Model, type TextInput } from '../model/model.js';
import { inferRows } from '../model/rows.js';
import { isBatchable, type NamedTensors } from '../model/tensor.js';
import type { ModelVersion } from '../registry/types.js';
import { AdaptiveBatcher, type BatcherOptions, type BatchStats } from './adaptive-batcher.js';
import { LoadBackoff } from './load-backoff.js';
import { OnDemandBudget, type OnDemandLimits } from './on-demand-budget.js';

const RETIRE_GRACE_MS = 60_000;
/** How often an evicted on-demand version is checked for finished work before it is let go. */
const EVICTED_IDLE_CHECK_MS = 100;
/** Longest wait between two attempts at loading a version an alias points at that failed to load. */
const MAX_LOAD_BACKOFF_MS = 5 * 60_000;

/** What the host needs from the registry; narrow so tests can hand it a fake clock or a real registry alike. */
export interface ModelSource {
  aliases(name: string): Promise<Record<string, number>>;
  load(ref: string): Promise<{ version: ModelVersion; model: Model }>;
  /**
   * The artifact size of a version without loading it (the on-demand budget's estimate, checked
   * before the load); throws REGISTRY_NOT_FOUND for an unknown version. Optional: without it the
   * budget is enforced by eviction after the load only.
   */
  artifactSize?(name: string, version: number): Promise<number>;
}

/** What failed in the background: the alias poll, or loading the version an alias points at. */
export interface HostErrorContext {
  what: 'aliases' | 'load' | 'refresh' | 'warmup' | 'close';
  model?: string;
  alias?: string;
  version?: number;
  /** When the next attempt at this version will be made (ms from now), for failed loads. */
  retryInMs?: number;
}

export interface ServedModel {
  readonly name: string;
  readonly version: number;
  readonly model: Model;
  readonly meta: ModelVersion;
  /**
   * Items are rows when the model is batchable (stacked into one run), whole requests otherwise
   * (one per run): see model/rows.ts.
   */
  readonly batcher: AdaptiveBatcher<NamedTensors, NamedTensors>;
  /** Whether one request's item is one row (batchable signature) or the whole request. */
  readonly batchable: boolean;
  readonly loadedAt: number;
}

export interface ModelHostOptions {
  /** Model names served, each following `aliases`. */
  models: readonly string[];
  /** Aliases followed for every model; the first is the default one. */
  aliases: readonly string[];
  batcher: BatcherOptions;
  /** How often the registry is asked whether an alias moved (ms); 0 turns polling off. */
  pollMs: number;
  /** Versions loaded on demand (by number) kept at most, least recently used first out. */
  maxOnDemand: number;
  /** Byte budget and rate of on-demand loads; unlimited when absent. */
  onDemand?: OnDemandLimits;
  warmupInputs: readonly TextInput[];
  onBatch?: (served: { name: string; version: number }, stats: BatchStats) => void;
  onSwap?: (event: { name: string; alias: string; from: number | null; to: number }) => void;
  /**
   * A background failure: the registry could not be read, or the version an alias moved to could
   * not be loaded (the host keeps serving the previous one and retries with backoff).
   */
  onError?: (error: unknown, context: HostErrorContext) => void;
  /** On-demand versions evicted to stay within the limits (their memory is let go once idle). */
  onEvict?: (served: { name: string; version: number }) => void;
  /** A version loaded on demand (by number, behind no alias) and now held. */
  onDemandLoad?: (served: { name: string; version: number }) => void;
}

/**
 * Keeps the models that the aliases point at loaded and warm, and swaps them without downtime:
 * when an alias moves, the new version is loaded and warmed in the background, then one pointer
 * changes. Requests that already hold the old ServedModel finish on it; its batcher drains.
 */
export class ModelHost {
  private readonly byAlias = new Map<string, ServedModel>();
  private lastAliasKey = { name: '', alias: '', key: '' };
  private readonly byVersion = new Map<string, ServedModel>();
  /** The most recently used on-demand version (the last entry of byVersion), while it is there. */
  private lastOnDemandHit: ServedModel | undefined;
  private readonly loading = new Map<string, Promise<ServedModel>>();
  /**
   * Swapped-out models are not drained at once: a request may hold one between its cache lookup and
   * its submit. They stay here for a grace period so that stop() still waits for their work.
   */
  private readonly retired = new Set<ServedModel>();
  private readonly budget: OnDemandBudget | undefined;
  /** Estimated bytes of on-demand loads in progress (counted in the budget before they finish). */
  private reservedBytes = 0;
  private readonly backoff: LoadBackoff;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private nextRefresh: Promise<void> | undefined;
  private started = false;
  private stopping = false;

  constructor(
    private readonly source: ModelSource,
    private readonly opts: ModelHostOptions,
  ) {
    this.budget = opts.onDemand ? new OnDemandBudget(opts.onDemand) : undefined;
    this.backoff = new LoadBackoff(Math.max(opts.pollMs, 1000), MAX_LOAD_BACKOFF_MS);
  }

  get ready(): boolean {
    return this.started && !this.stopping;
  }

  get defaultAlias(): string {
    return this.opts.aliases[0] ?? 'production';
  }

  get modelNames(): readonly string[] {
    return this.opts.models;
  }

  /** Loads and warms every followed alias; ready afterwards. Fails if a default alias is missing. */
  async start(): Promise<void> {
    await this.refresh({ requireDefault: true });
    this.started = true;
    if (this.opts.pollMs > 0) {
      this.timer = setInterval(() => {
        void this.refresh().catch((e: unknown) => this.opts.onError?.(e, { what: 'refresh' }));
      }, this.opts.pollMs);
      this.timer.unref();
    }
  }

  /** The model an alias points at now (hot path: a map lookup). */
  current(name: string, alias: string = this.defaultAlias): ServedModel | undefined {
    // Every request asks this, almost always for the same alias: the last key is kept, so the lookup
    // does not build and hash a new string each time.
    let last = this.lastAliasKey;
    if (last.name !== name || last.alias !== alias) {
      last = { name, alias, key: `${name}@${alias}` };
      this.lastAliasKey = last;
    }
    return this.byAlias.get(last.key);
  }

  /** Every alias currently served, as `name@alias` → version. */
  servedAliases(): Record<string, number> {
    return Object.fromEntries([...this.byAlias].map(([k, v]) => [k, v.version]));
  }

  loadedVersions(name: string): number[] {
    const versions = new Set<number>();
    for (const m of [...this.byAlias.values(), ...this.byVersion.values()])
      if (m.name === name) versions.add(m.version);
    return [...versions].sort((a, b) => a - b);
  }

  /**
   * Every version of `name` the host still holds a reference to: served by an alias, loaded on
   * demand, or retired but still finishing work. What the host keeps in memory.
   */
  heldVersions(name: string): number[] {
    const held = new Set<number>();
    for (const m of [...this.byAlias.values(), ...this.byVersion.values(), ...this.retired])
      if (m.name === name) held.add(m.version);
    return [...held].sort((a, b) => a - b);
  }

  /** Estimated bytes of the versions loaded on demand now (their artifacts' sizes). */
  get onDemandBytes(): number {
    let bytes = 0;
    for (const m of this.byVersion.values()) bytes += m.meta.artifactSize ?? 0;
    return bytes;
  }

  /**
   * A version already loaded (by an alias or on demand; counts as a use for the LRU order), else
   * undefined. Synchronous: an experiment's arm is asked for on every routed request, and an await
   * there cost a promise and a microtask each time. The last on-demand hit is kept, so a run of
   * requests for one version neither builds its key nor reorders the map again.
   */
  loaded(name: string, version: number): ServedModel | undefined {
    for (const m of this.byAlias.values()) if (m.name === name && m.version === version) return m;
    const last = this.lastOnDemandHit;
    if (last !== undefined && last.name === name && last.version === version) return last;
    const key = `${name}/${version}`;
    const hit = this.byVersion.get(key);
    if (hit) {
      this.byVersion.delete(key);
      this.byVersion.set(key, hit);
      this.lastOnDemandHit = hit;
    }
    return hit;
  }

  /**
   * A specific version: already loaded (by an alias or earlier), or loaded now and kept (LRU).
   * `limited` (requests naming a version) applies the on-demand budget and rate before a new load;
   * every load evicts least recently used versions down to the count and byte limits at once.
   */
  async version(name: string, version: number, opts: { limited?: boolean } = {}): Promise<ServedModel> {
    const loaded = this.loaded(name, version);
    if (loaded) return loaded;
    const key = `${name}/${version}`;
    let reserved = 0;
    if (opts.limited && this.budget && !this.loading.has(key)) {
      this.budget.assertRate();
      const estimate = this.source.artifactSize ? await this.source.artifactSize(name, version) : 0;
      this.budget.checkSize(name, version, estimate);
      this.budget.takeLoad();
      // Room is made before the load, not after it: what is loaded plus what is being loaded stays
      // within the budget even while several loads run at once.
      this.evictOverLimits(undefined, estimate);
      if (this.onDemandBytes + this.reservedBytes + estimate > this.budget.limits.maxBytes) {
        throw this.budget.busy(name, version);
      }
      reserved = estimate;
      this.reservedBytes += reserved;
    }
    let served: ServedModel;
    try {
      served = await this.loadOnce(name, version);
    } finally {
      this.reservedBytes -= reserved;
    }
    if (this.byVersion.get(key) !== served) {
      const isNew = !this.byVersion.has(key);
      this.byVersion.delete(key);
      this.byVersion.set(key, served);
      this.lastOnDemandHit = served;
      if (isNew) this.opts.onDemandLoad?.({ name: served.name, version: served.version });
    }
    this.evictOverLimits(served);
    return served;
  }

  /**
   * Evicts least recently used on-demand versions (never `keep`) until the count and the bytes,
   * with `incoming` more bytes and those of loads in progress, are within the limits.
   */
  private evictOverLimits(keep: ServedModel | undefined, incoming = 0): void {
    const maxBytes = this.opts.onDemand?.maxBytes ?? Number.POSITIVE_INFINITY;
    const maxCount = this.opts.maxOnDemand - (keep === undefined ? 1 : 0);
    for (const [key, old] of this.byVersion) {
      const bytes = this.onDemandBytes + this.reservedBytes + incoming;
      if (this.byVersion.size <= maxCount && bytes <= maxBytes) break;
      if (old === keep) continue;
      this.byVersion.delete(key);
      if (this.lastOnDemandHit === old) this.lastOnDemandHit = undefined;
      this.opts.onEvict?.({ name: old.name, version: old.version });
      if (!this.isServed(old)) this.retireWhenIdle(old);
    }
  }

  /**
   * Asks the registry where the aliases point and swaps what moved. A call made while a run is in
   * progress gets one more run after it (shared by every such caller): the running one may have
   * read the aliases before the caller's move.
   */
  refresh(opts: { requireDefault?: boolean; retryFailed?: boolean } = {}): Promise<void> {
    const requireDefault = opts.requireDefault ?? false;
    // An explicit refresh (the admin API) retries versions that failed to load, backoff or not.
    if (opts.retryFailed) this.backoff.clear();
    if (!this.refreshing) {
      this.refreshing = this.doRefresh(requireDefault).finally(() => {
        this.refreshing = undefined;
      });
      return this.refreshing;
    }
    this.nextRefresh ??= this.refreshing
      .catch(() => {})
      .then(() => {
        this.nextRefresh = undefined;
        return this.refresh({ requireDefault });
      });
    return this.nextRefresh;
  }

  private async doRefresh(requireDefault: boolean): Promise<void> {
    for (const name of this.opts.models) {
      const aliases = await this.source.aliases(name).catch((e: unknown) => {
        if (requireDefault) throw e;
        this.opts.onError?.(e, { what: 'aliases', model: name });
        return null;
      });
      if (!aliases) continue;
      for (const alias of this.opts.aliases) {
        const target = aliases[alias];
        const key = `${name}@${alias}`;
        const current = this.byAlias.get(key);
        if (target === undefined) {
          if (requireDefault && alias === this.defaultAlias) {
            throw new FerryError(
              ErrorCode.REGISTRY_NOT_FOUND,
              `model "${name}" has no alias "${alias}" to serve; train one with "ferry train --promote"`,
            );
          }
          continue;
        }
        if (current?.version === target) continue;
        const loadKey = `${name}/${target}`;
        // A version that failed to load is retried with backoff, not re-read on every poll.
        if (!requireDefault && this.backoff.waiting(loadKey)) continue;
        let next: ServedModel;
        try {
          next = await this.loadOnce(name, target);
          this.backoff.succeeded(loadKey);
        } catch (e) {
          if (requireDefault) throw e;
          const retryInMs = this.backoff.failed(loadKey);
          this.opts.onError?.(e, { what: 'load', model: name, alias, version: target, retryInMs });
          continue;
        }
        this.byAlias.set(key, next);
        this.opts.onSwap?.({ name, alias, from: current?.version ?? null, to: target });
        if (current && !this.isServed(current)) this.retire(current);
      }
    }
  }

  private retire(m: ServedModel): void {
    this.retired.add(m);
    setTimeout(() => {
      this.retired.delete(m);
      if (!this.isServed(m)) void this.release(m);
      if (!this.isServed(m)) void this.release(m);
    }, RETIRE_GRACE_MS).unref();
  }

  /**
   * An evicted on-demand version is let go as soon as its batcher has nothing left, not after the
   * swap grace period: cycling through versions must not keep a minute's worth of them in memory.
   */
  private retireWhenIdle(m: ServedModel): void {
    const idle = () => m.batcher.queuedItems === 0 && !m.batcher.busy;
    if (idle()) return;
    this.retired.add(m);
    const check = setInterval(() => {
      if (!idle()) return;
      clearInterval(check);
      this.retired.delete(m);
    }, EVICTED_IDLE_CHECK_MS);
    check.unref();
  }

  private isServed(m: ServedModel): boolean {
    return [...this.byAlias.values(), ...this.byVersion.values()].includes(m);
  }

  private loadOnce(name: string, version: number): Promise<ServedModel> {
    const key = `${name}/${version}`;
    let p = this.loading.get(key);
    if (!p) {
      p = this.load(name, version).finally(() => this.loading.delete(key));
      this.loading.set(key, p);
    }
    return p;
  }

  private async load(name: string, version: number): Promise<ServedModel> {
    const { version: meta, model } = await this.source.load(`${name}/${version}`);
    // Warm-up: the first predictions pay for JIT compilation (and a remote's connection); users should not.
    if (isTextModel(model)) {
      for (let i = 0; i < 20; i++) model.predictBatch(this.opts.warmupInputs);
    } else {
      try {
        // One row of small seeded values in range for each datatype, as `ferry models check` uses.
        await model.infer(generateInputs(model.signature, 0, 1));
      } catch (e) {
        // Inputs made up from the signature may be refused by a model with rules of its own: that
        // says nothing about real requests, so the version still loads; the failure is reported.
        this.opts.onError?.(e, { what: 'warmup', model: name, version });
      }
    }
    const batchable = isTextModel(model) || isBatchable(model.signature);
    const served = { name, version, model, meta, batchable, loadedAt: Date.now() } as Omit<
      ServedModel,
      'batcher'
    >;
    const batcher = new AdaptiveBatcher<NamedTensors, NamedTensors>(
      (items) => inferRows(model, items),
      // A model that cannot stack requests runs them one at a time; the queue still bounds the wait.
      batchable ? this.opts.batcher : { ...this.opts.batcher, maxBatchSize: 1 },
      {
        onBatch: (stats) => this.opts.onBatch?.({ name, version }, stats),
        // Deadlines come from performance.now(), a monotonic clock that NTP cannot move.
        now: () => performance.now(),
      },
    );
    return { ...served, batcher };
  }

  /** Stops polling and waits for every batcher to finish what it holds. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.refreshing?.catch(() => {});
    const all = new Set([...this.byAlias.values(), ...this.byVersion.values(), ...this.retired]);
    await Promise.all([...all].map((m) => m.batcher.drain()));
    await Promise.all([...all].map((m) => this.release(m)));
  }

  /** Lets go of what a model holds (a native session, sockets) once nothing can reach it; never throws. */
  private async release(m: ServedModel): Promise<void> {
    try {
      await m.batcher.drain();
      await m.model.close?.();
    } catch (e) {
      this.opts.onError?.(e, { what: 'close', model: m.name, version: m.version });
    }
  }
}
