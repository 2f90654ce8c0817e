/**
 * The serving process's side of shadow tests: one ShadowMirror per running shadow experiment of a
 * served model, fed by a prediction observer, and its cumulative counters upserted into
 * ferry_shadow_stats (one row per experiment and replica) every `flushEveryMs`, when the shadow
 * ends here, and at shutdown. The analysis merges every replica's row.
 *
 * What is mirrored: requests of the shadow's model answered by the production arm's version (an
 * explicit version or an alias, followed live), whether the router picked it or not; requests
 * answered by another version (an A/B arm, an explicit other version) are not. Requests answered even
 * partly from the prediction cache are not mirrored: their latency is the cache's, and the shadow
 * compares two models' latencies; agreement is therefore measured on cache misses. Requests that
 * production shed (overloaded, past their deadline, shutting down) are not mirrored either: the
 * server is short of capacity, and the model never saw them. Other production failures are mirrored
 * (they count as production errors in the report).
 *
 * The candidate runs through `predict` (the wiring: the candidate version from the model host, its
 * model's `predict`), after production's answer, off the request path (setImmediate), in batches of
 * at most `maxBatchSize` items; the queue is bounded (`maxQueue` items; beyond it requests are
 * dropped and counted). Its answers only ever become counts: nothing here can reach a response.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, isFerryError } from '../../core/errors.js';
import type { NamedTensors } from '../../model/tensor.js';
import type { PredictionEvent, PredictionObserver } from '../../ports/prediction-observer.js';
import type { ExperimentStatsStore } from '../experiment-stats-store.js';
import type { ArmDefinition, Experiment } from '../experiment-types.js';
import { shadowSettings } from '../live-settings.js';
import { ShadowMirror } from './shadow-mirror.js';
import type { ShadowReport } from './shadow-stats.js';

/** The candidate version's answer for `items` (the wiring: the version from the model host). */
export type ShadowCandidate = (
  model: string,
  version: number,
  items: readonly NamedTensors[],
) => Promise<NamedTensors[]>;

export interface ShadowRunnerOptions {
  stats: ExperimentStatsStore;
  replica: string;
  candidate: ShadowCandidate;
  /**
   * The version an alias of a model points at here and now (the host's followed aliases), or
   * undefined when the host does not follow it; then `resolveAlias` is asked at each refresh.
   */
  currentAlias: (model: string, alias: string) => number | undefined;
  resolveAlias: (model: string, alias: string) => Promise<number | undefined>;
  /** Models served here; shadows of other models are ignored. */
  models: readonly string[];
  /** How often counters are written (ms); 0: only on flush() and stop(). */
  flushEveryMs: number;
  /** Seeded in tests; default Math.random. */
  random?: () => number;
  onError?: (error: unknown, context: string) => void;
}

interface Running {
  experiment: Experiment;
  mirror: ShadowMirror;
  running: boolean;
  /** Arms on aliases the host does not follow: their versions, resolved at each refresh. */
  resolved: Map<string, number>;
  /** What was last written, to skip unchanged rows. */
  written: string | undefined;
}

const SHED = new Set<string>([
  ErrorCode.SERVING_OVERLOADED,
  ErrorCode.SERVING_DEADLINE,
  ErrorCode.SERVING_SHUTTING_DOWN,
]);

export class ShadowRunner implements PredictionObserver<NamedTensors, NamedTensors> {
  /** By experiment name. */
  private readonly running = new Map<string, Running>();
  /** By model: at most one shadow per model (the overlap rule). */
  private readonly byModel = new Map<string, Running>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ShadowRunnerOptions) {}

  start(): void {
    if (this.opts.flushEveryMs > 0) {
      this.timer = setInterval(() => {
        void this.flush().catch((err: unknown) => this.opts.onError?.(err, 'shadow stats write'));
      }, this.opts.flushEveryMs);
      this.timer.unref();
    }
  }

  /** Whether a running shadow is known here (the wiring observes predictions only then). */
  get active(): boolean {
    for (const r of this.running.values()) if (r.running) return true;
    return false;
  }

  /** The running and paused experiments (a router listener): mirrors are made and ended here. */
  sync(experiments: readonly Experiment[]): void {
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const e of experiments) {
      if (e.type !== 'shadow' || !this.opts.models.includes(e.model) || e.arms.length !== 2) continue;
      seen.add(e.name);
      let r = this.running.get(e.name);
      if (r === undefined) {
        try {
          r = this.open(e);
        } catch (err) {
          this.opts.onError?.(err, `shadow ${e.name}`);
          continue;
        }
        this.running.set(e.name, r);
      }
      r.experiment = e;
      r.running = e.status === 'running';
      this.byModel.set(e.model, r);
      for (const arm of e.arms) {
        const alias = arm.alias;
        if (alias === undefined || this.opts.currentAlias(e.model, alias) !== undefined) continue;
        const shadow = r;
        void this.opts.resolveAlias(e.model, alias).then(
          (v) => {
            if (v === undefined) shadow.resolved.delete(alias);
            else shadow.resolved.set(alias, v);
          },
          (err: unknown) => this.opts.onError?.(err, `alias "${alias}" of shadow ${e.name}`),
        );
      }
    }
    for (const [name, r] of this.running) {
      if (seen.has(name)) continue;
      this.running.delete(name);
      if (this.byModel.get(r.experiment.model) === r) this.byModel.delete(r.experiment.model);
      // The candidate's work in flight is waited for, the queue abandoned (counted as discarded).
      void this.enqueueWrite(async () => {
        await r.mirror.stop();
        await this.write(r);
      }).catch((err: unknown) => this.opts.onError?.(err, `shadow stats write of ${name}`));
    }
  }

  /** Hot path: a Map lookup; a shadowed production request is queued, never waited for. */
  onPrediction(event: PredictionEvent<NamedTensors, NamedTensors>): void {
    const r = this.byModel.get(event.model);
    if (r === undefined || !r.running || event.cacheHits > 0) return;
    if (event.version !== this.versionOf(r, r.experiment.arms[0]!)) return;
    if (event.error !== undefined && isFerryError(event.error) && SHED.has(event.error.code)) return;
    r.mirror.mirror(event.items, event.predictions, event.latencyMs, event.error);
  }

  /** This replica's counters of a running shadow, for tests and metrics. */
  report(name: string): ShadowReport | undefined {
    return this.running.get(name)?.mirror.report();
  }

  /** Resolves once the shadow's queue is empty and no candidate call runs (mirroring goes on). */
  async drain(name: string): Promise<void> {
    await this.running.get(name)?.mirror.drain();
  }

  /** Upserts the counters that changed since their last write (every shadow, or only `name`). */
  flush(name?: string): Promise<void> {
    const targets = [...this.running.values()].filter(
      (r) => name === undefined || r.experiment.name === name,
    );
    return this.enqueueWrite(async () => {
      for (const r of targets) await this.write(r);
    });
  }

  /** Stops the timer and every mirror (queues abandoned, counted as discarded), then writes a last time. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const all = [...this.running.values()];
    this.running.clear();
    this.byModel.clear();
    await Promise.all(all.map((r) => r.mirror.stop()));
    await this.enqueueWrite(async () => {
      for (const r of all) {
        await this.write(r).catch((err: unknown) =>
          this.opts.onError?.(err, `shadow stats write of ${r.experiment.name}`),
        );
      }
    });
  }

  /** The version an arm points at here and now; undefined while an unfollowed alias is unresolved. */
  private versionOf(r: Running, arm: ArmDefinition): number | undefined {
    if (arm.version !== undefined) return arm.version;
    const alias = arm.alias!;
    return this.opts.currentAlias(r.experiment.model, alias) ?? r.resolved.get(alias);
  }

  private open(e: Experiment): Running {
    const settings = shadowSettings(e);
    const predict = async (items: readonly NamedTensors[]): Promise<NamedTensors[]> => {
      const r = this.running.get(e.name);
      const version = r === undefined ? undefined : this.versionOf(r, r.experiment.arms[1]!);
      if (version === undefined) throw new Error(`the candidate of shadow ${e.name} has no version here yet`);
      return this.opts.candidate(e.model, version, items);
    };
    const mirror = new ShadowMirror({
      predict,
      maxQueue: settings.maxQueue,
      sampleRate: settings.sampleRate,
      maxBatchSize: settings.maxBatchSize,
      ...(this.opts.random !== undefined ? { random: this.opts.random } : {}),
    });
    return {
      experiment: e,
      mirror,
      running: e.status === 'running',
      resolved: new Map(),
      written: undefined,
    };
  }

  private async write(r: Running): Promise<void> {
    const json = r.mirror.toJSON();
    const text = JSON.stringify(json);
    if (text === r.written) return;
    await this.opts.stats.upsertShadow(r.experiment.name, this.opts.replica, json);
    r.written = text;
  }

  /** Writes one after another, so a row never goes back to older counters. */
  private enqueueWrite(fn: () => Promise<void>): Promise<void> {
    const next = this.writing.then(fn, fn);
    this.writing = next.catch(() => {});
    return next;
  }
}

/** A replica id: random per process start, so a restarted process never adds to its old row. */
export function newReplicaId(): string {
  return randomUUID();
}
