/**
 * Picks the arm of a request, records exposures, and keeps bandit weights current.
 *
 * - In memory: the running and paused experiments, refreshed from the store every `refreshMs` (as
 *   ModelHost polls aliases) and at once after a change made through this process's API.
 * - `route(model, unit)` is the hot path: one Map lookup, GrowthBook's version-2 hash of
 *   (seed, unit) and a scan of the arms' bucket ranges; no I/O, no allocation (decisions are
 *   prebuilt per arm). A unit outside the coverage, no unit, or no running routing experiment
 *   gives undefined: the default version answers and no exposure is recorded.
 * - Exposures are buffered per (experiment, unit) (a repeat only adds to its request count) and
 *   written in batches in the background, 500 pairs a statement with the event loop free between
 *   two; a full buffer drops new units and counts them; a failed statement drops its pairs and the
 *   batch's rest, counted. A request never waits for them.
 * - Bandits: at each refresh, a bandit whose next period has begun is updated once across replicas
 *   (under the experiment's lock; see bandit-update.ts), and every replica routes with the new
 *   weights from its next refresh on. Replicas may therefore disagree for up to `refreshMs` after a
 *   period boundary; within a period, every unit keeps its arm.
 */
import { nextCheckPhase } from '../core/event-loop.js';
import type { ExperimentRoute, ExperimentRouting } from '../ports/experiment-routing.js';
import { banditPeriodAt, computeBanditUpdate } from './bandit-update.js';
import { unitProblem } from './experiment-definition.js';
import type { ExperimentStore } from './experiment-store.js';
import {
  ACTIVE_STATUSES,
  type Experiment,
  type Exposure,
  ROUTING_TYPES,
  type RouteDecision,
} from './experiment-types.js';
import { type BucketRange, chooseVariation, getBucketRanges, hash } from './hashing.js';

export interface ExposureBufferOptions {
  /** Distinct (experiment, unit) pairs held at most; beyond it new ones are dropped (counted). */
  maxBuffered: number;
  flushIntervalMs: number;
  /** A flush starts as soon as this many pairs are buffered. */
  flushSize: number;
  /** Pairs written per statement; the event loop runs between two (see writeInChunks). */
  flushChunk: number;
}

/**
 * Every buffered pair costs one row upsert (a few µs on SQLite, on the event loop). Flushing every
 * 5 s (or per 50,000 pairs) merges a returning unit's requests into one row update: with 10,000 active
 * users at 15,000 req/s that is ~2,000 upserts/s instead of ~15,000 with a 1 s / 5,000-pair flush
 * (profiled in bench/experiments). The analysis flushes this process's buffer before it reads.
 */
const DEFAULT_EXPOSURE_BUFFER: ExposureBufferOptions = {
  maxBuffered: 100_000,
  flushIntervalMs: 5000,
  flushSize: 50_000,
  // 500 pairs take ~3 ms on SQLite here (10,000 in one go: ~60 ms with every request waiting), and
  // 500 rows × 7 parameters stay within one statement.
  flushChunk: 500,
};

export interface ExperimentRouterOptions {
  store: ExperimentStore;
  /** How often the store is read (ms); 0: only when refresh() is called. */
  refreshMs: number;
  /**
   * Aliases the model host serves itself: an arm on one of them routes by alias (and follows its
   * zero-downtime swaps). Arms on other aliases are resolved to versions at each refresh.
   */
  followedAliases?: readonly string[];
  /** Where aliases point now (the registry); needed for arms on aliases the host does not follow. */
  aliases?: (model: string) => Promise<Record<string, number>>;
  clock?: () => Date;
  exposures?: Partial<ExposureBufferOptions>;
  /**
   * Writes a chunk of exposures (default: the store's upsertExposures on this thread). A server on a
   * SQLite file passes its writer thread's, so the upserts leave the event loop.
   */
  writeExposures?: (chunk: Exposure[]) => Promise<void>;
  onExposuresDropped?: (count: number, reason: 'full' | 'write-error') => void;
  onError?: (error: unknown, context: string) => void;
  /**
   * Loads and warms a version before the router first sends traffic to it (the model host's
   * `version`), so that an experiment's first requests do not pay for loading its arms (a canary
   * would read that cold start as the version's latency). A failure is reported, not fatal: the
   * requests then fall back to the default version.
   */
  warm?: (model: string, version: number) => Promise<unknown>;
}

interface CompiledExperiment {
  experiment: Experiment;
  seed: string;
  ranges: BucketRange[];
  decisions: (RouteDecision | undefined)[];
}

/** An exposure waiting to be written; its time as epoch ms (made ISO 8601 at flush time). */
type BufferedExposure = Omit<Exposure, 'at'> & { atMs: number };

export type ExperimentsListener = (experiments: readonly Experiment[]) => void;

export class ExperimentRouter implements ExperimentRouting {
  private routing = new Map<string, CompiledExperiment>();
  private activeByModel = new Map<string, readonly Experiment[]>();
  private activeList: readonly Experiment[] = [];
  /**
   * Buffered exposures by experiment, then unit: two lookups by strings the request already holds,
   * instead of one by a key built per request (the concatenation and its hash cost ~1 % of a routed
   * request's CPU in bench/experiments' profile).
   */
  private buffer = new Map<string, Map<string, BufferedExposure>>();
  private bufferedPairs = 0;
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private nextRefresh: Promise<void> | undefined;
  private readonly listeners = new Set<ExperimentsListener>();
  private readonly clock: () => Date;
  private readonly nowMs: () => number;
  private readonly buffering: ExposureBufferOptions;
  private dropped = 0;
  private stopped = false;

  constructor(private readonly opts: ExperimentRouterOptions) {
    this.clock = opts.clock ?? (() => new Date());
    const clock = opts.clock;
    this.nowMs = clock === undefined ? Date.now : () => clock().getTime();
    this.buffering = { ...DEFAULT_EXPOSURE_BUFFER, ...opts.exposures };
  }

  /** Reads the experiments once, then keeps refreshing and flushing in the background. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.opts.refreshMs > 0) {
      this.timer = setInterval(() => {
        void this.refresh().catch((e: unknown) => this.opts.onError?.(e, 'experiment refresh'));
      }, this.opts.refreshMs);
      this.timer.unref();
    }
    this.flushTimer = setInterval(() => void this.flushExposures(), this.buffering.flushIntervalMs);
    this.flushTimer.unref();
  }

  /**
   * The arm for this request, or undefined (no running routing experiment on the model, no or an
   * unusable unit, or a unit outside the coverage): then the default version answers.
   */
  route(model: string, unit: string | undefined): RouteDecision | undefined {
    if (unit === undefined) return undefined;
    const compiled = this.routing.get(model);
    if (compiled === undefined) return undefined;
    // Units the store could not keep exactly (empty, too long, NUL, unpaired surrogates) are not routed.
    if (unitProblem(unit) !== undefined) return undefined;
    const index = chooseVariation(hash(compiled.seed, unit, 2)!, compiled.ranges);
    if (index < 0) return undefined;
    return compiled.decisions[index];
  }

  /**
   * Records that `unit` was answered by `decision`'s arm (version = the version that answered).
   * O(1), never throws, never waits: the write happens in the background.
   */
  expose(decision: ExperimentRoute, unit: string, version: number | null): void {
    let byUnit = this.buffer.get(decision.experiment);
    const seen = byUnit?.get(unit);
    if (seen !== undefined) {
      seen.requests += 1;
      return;
    }
    if (this.bufferedPairs >= this.buffering.maxBuffered) {
      this.dropped += 1;
      this.opts.onExposuresDropped?.(1, 'full');
      return;
    }
    if (byUnit === undefined) {
      byUnit = new Map();
      this.buffer.set(decision.experiment, byUnit);
    }
    this.bufferedPairs += 1;
    byUnit.set(unit, {
      experiment: decision.experiment,
      unit,
      arm: decision.arm,
      version,
      atMs: this.nowMs(),
      requests: 1,
    });
    if (this.bufferedPairs >= this.buffering.flushSize) void this.flushExposures();
  }

  /** Exposures waiting to be written. */
  get bufferedExposures(): number {
    return this.bufferedPairs;
  }

  /** Exposures dropped so far (buffer full or write failed). */
  get droppedExposures(): number {
    return this.dropped;
  }

  /** Writes what is buffered (one write at a time); resolves when this process's exposures are stored. */
  async flushExposures(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
    if (this.bufferedPairs === 0) return;
    const pending = this.buffer;
    const count = this.bufferedPairs;
    this.buffer = new Map();
    this.bufferedPairs = 0;
    this.flushing = this.writeInChunks(pending, count).finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  /**
   * Writes the pairs `flushChunk` at a time, yielding to the event loop between chunks: on SQLite a
   * write runs synchronously on this thread, and 10,000 pairs in one go held every request for tens
   * of milliseconds every flush (the p99 of bench/experiments). Each chunk is one statement (atomic);
   * a failed chunk and the ones after it are dropped and counted, those before it stay written.
   */
  private async writeInChunks(
    pending: Map<string, Map<string, BufferedExposure>>,
    count: number,
  ): Promise<void> {
    const size = this.buffering.flushChunk;
    let chunk: Exposure[] = [];
    let written = 0;
    try {
      // A plain literal: a rest-destructure then a spread with a new key cost ~1.2 µs a pair on Node 20.
      for (const byUnit of pending.values())
        for (const e of byUnit.values()) {
          chunk.push({
            experiment: e.experiment,
            unit: e.unit,
            arm: e.arm,
            version: e.version,
            at: new Date(e.atMs).toISOString(),
            requests: e.requests,
          });
          if (chunk.length === size) {
            await this.writeChunk(chunk);
            written += chunk.length;
            chunk = [];
            await nextCheckPhase();
          }
        }
      if (chunk.length > 0) await this.writeChunk(chunk);
    } catch (e) {
      const lost = count - written;
      this.dropped += lost;
      this.opts.onExposuresDropped?.(lost, 'write-error');
      this.opts.onError?.(e, 'exposure write');
    }
  }

  private writeChunk(chunk: Exposure[]): Promise<void> {
    return this.opts.writeExposures
      ? this.opts.writeExposures(chunk)
      : this.opts.store.upsertExposures(chunk);
  }

  /** The running and paused experiments of `model` (every type, shadows included), or of every model. */
  experiments(model?: string): readonly Experiment[] {
    return model === undefined ? this.activeList : (this.activeByModel.get(model) ?? []);
  }

  /** The running routing experiment (ab, bandit, canary) of `model`, if any. */
  routingExperiment(model: string): Experiment | undefined {
    return this.routing.get(model)?.experiment;
  }

  /**
   * Called after every refresh with the running and paused experiments (e.g. for the shadow mirror
   * or the canary controller to pick theirs up). Returns the unsubscribe function.
   */
  subscribe(listener: ExperimentsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Reads the running and paused experiments, updates the bandits whose period has begun, and
   * swaps the routing table (one assignment; requests in flight keep the decision they got). A call
   * during a refresh gets one more run after it, shared by every such caller.
   */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = undefined;
      });
      return this.refreshing;
    }
    this.nextRefresh ??= this.refreshing
      .catch(() => {})
      .then(() => {
        this.nextRefresh = undefined;
        return this.refresh();
      });
    return this.nextRefresh;
  }

  private async doRefresh(): Promise<void> {
    if (this.stopped) return;
    let experiments = await this.opts.store.list({ statuses: ACTIVE_STATUSES });
    const now = this.clock();
    if (experiments.some((e) => this.banditDue(e, now))) {
      await this.flushExposures();
      experiments = await Promise.all(
        experiments.map((e) =>
          this.banditDue(e, now)
            ? this.updateBandit(e.name, now).catch((err: unknown) => {
                this.opts.onError?.(err, `bandit update of ${e.name}`);
                return e;
              })
            : e,
        ),
      );
    }
    const routing = new Map<string, CompiledExperiment>();
    const byModel = new Map<string, Experiment[]>();
    const aliasCache = new Map<string, Promise<Record<string, number>>>();
    for (const e of experiments) {
      byModel.set(e.model, [...(byModel.get(e.model) ?? []), e]);
      if (e.status !== 'running' || !ROUTING_TYPES.includes(e.type)) continue;
      const previous = this.routing.get(e.model);
      if (
        previous !== undefined &&
        previous.experiment.name === e.name &&
        previous.experiment.revision === e.revision &&
        !hasUnfollowedAlias(e, this.opts.followedAliases)
      ) {
        routing.set(e.model, previous);
        continue;
      }
      try {
        routing.set(e.model, await this.compile(e, aliasCache));
      } catch (err) {
        this.opts.onError?.(err, `routing of ${e.name}`);
      }
    }
    this.routing = routing;
    this.activeByModel = byModel;
    this.activeList = experiments;
    for (const listener of this.listeners) {
      try {
        listener(experiments);
      } catch (err) {
        this.opts.onError?.(err, 'experiments listener');
      }
    }
  }

  private banditDue(e: Experiment, now: Date): boolean {
    return e.type === 'bandit' && e.status === 'running' && banditPeriodAt(e, now) > e.banditPeriod;
  }

  /**
   * Runs the bandit update of the period `now` falls in, once across replicas: under the
   * experiment's lock, a replica that finds the period already done only reads the result.
   */
  async updateBandit(name: string, now: Date = this.clock()): Promise<Experiment> {
    const { store } = this.opts;
    return store.update(name, async (e, tx) => {
      const period = banditPeriodAt(e, now);
      if (e.type !== 'bandit' || e.status !== 'running' || period <= e.banditPeriod) return undefined;
      const aggregates = await store.aggregates(e, tx);
      const update = computeBanditUpdate(e, aggregates, period);
      if (!update.updated) return { banditPeriod: period };
      return {
        banditPeriod: period,
        weights: update.weights,
        historyEntry: {
          at: now.toISOString(),
          weights: update.weights,
          reason: `bandit ${e.bandit!.policy} update`,
          period,
          probabilityBest: update.probabilityBest,
          units: update.arms.map((a) => a.units),
        },
      };
    });
  }

  private async compile(
    e: Experiment,
    aliasCache: Map<string, Promise<Record<string, number>>>,
  ): Promise<CompiledExperiment> {
    const followed = this.opts.followedAliases;
    const decisions = await Promise.all(
      e.arms.map(async (arm, armIndex): Promise<RouteDecision | undefined> => {
        const decision = (selector: RouteDecision['selector']): RouteDecision => ({
          experiment: e.name,
          type: e.type,
          arm: arm.name,
          armIndex,
          selector,
        });
        if (arm.version !== undefined) return decision({ version: arm.version });
        const alias = arm.alias!;
        if (followed === undefined || followed.includes(alias)) return decision({ alias });
        if (this.opts.aliases === undefined) return decision({ alias });
        let pending = aliasCache.get(e.model);
        if (pending === undefined) {
          pending = this.opts.aliases(e.model);
          aliasCache.set(e.model, pending);
        }
        const version = (await pending)[alias];
        if (version === undefined) {
          throw new Error(`experiment "${e.name}": alias "${alias}" of "${e.model}" no longer exists`);
        }
        return decision({ version });
      }),
    );
    const warm = this.opts.warm;
    if (warm !== undefined) {
      await Promise.all(
        decisions.map(async (d) => {
          if (d?.selector.version === undefined) return;
          await warm(e.model, d.selector.version).catch((err: unknown) =>
            this.opts.onError?.(err, `loading ${e.model}/${d.selector.version} for ${e.name}`),
          );
        }),
      );
    }
    return {
      experiment: e,
      seed: e.seed,
      ranges: getBucketRanges(e.arms.length, e.coverage, e.weights),
      decisions,
    };
  }

  /** Stops the timers and writes the buffered exposures. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.refreshing?.catch(() => {});
    await this.flushExposures();
  }
}

function hasUnfollowedAlias(e: Experiment, followed: readonly string[] | undefined): boolean {
  return followed !== undefined && e.arms.some((a) => a.alias !== undefined && !followed.includes(a.alias));
}
