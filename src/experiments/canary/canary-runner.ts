/**
 * The serving process's side of canary releases: a prediction observer that counts, per running
 * canary, each arm's requests, errors, latency and predicted labels over the current step, and a
 * timer that every `evaluateEveryMs` upserts this replica's counters (ferry_canary_stats, one row
 * per experiment, step, arm and replica) and then runs one evaluation of every canary it knows (see
 * canary-release.ts; any replica may make the decision, the store's lock makes it once).
 *
 * What is counted: every request the router sent to one of the canary's arms (the event's
 * `experiment` and `arm`), failures included (a load-shed 503 of the canary's version is the
 * canary's failure too). Latency is recorded for successful requests answered by the model alone:
 * one served (even partly) from the prediction cache says nothing about the version's speed.
 *
 * Steps: this replica attributes a request to the step whose share the router routes with (the
 * canary arm's weight), so routing and counting switch together at the router's refresh.
 */
import { outputLabel } from '../../model/rows.js';
import type { NamedTensors } from '../../model/tensor.js';
import type { PredictionEvent, PredictionObserver } from '../../ports/prediction-observer.js';
import type { CanaryStatsWrite, ExperimentStatsStore } from '../experiment-stats-store.js';
import type { Experiment } from '../experiment-types.js';
import { canarySettings, canaryStepOf } from '../live-settings.js';
import { RequestStats } from './request-stats.js';

export interface CanaryRunnerOptions {
  stats: ExperimentStatsStore;
  /** One evaluation of a canary (ExperimentService.canary.evaluate). */
  evaluate: (name: string) => Promise<unknown>;
  /** This process's id in the stats rows. */
  replica: string;
  /** How often counters are written and canaries evaluated (ms); 0: only when tick() is called. */
  evaluateEveryMs: number;
  onError?: (error: unknown, context: string) => void;
}

interface Counter {
  step: number;
  arm: string;
  stats: RequestStats;
  dirty: boolean;
}

interface Tracked {
  name: string;
  arms: readonly [string, string];
  running: boolean;
  /** The step the router routes with now; -1: none (counting stops). */
  step: number;
  /** By `${step}/${armIndex}`. */
  /** By step × 2 + arm index. */
  counters: Map<number, Counter>;
}

export class CanaryRunner implements PredictionObserver<NamedTensors, NamedTensors> {
  private readonly tracked = new Map<string, Tracked>();
  /** Counters of canaries that ended here, written at the next tick. */
  private leftovers: { name: string; counters: Counter[] }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly opts: CanaryRunnerOptions) {}

  start(): void {
    if (this.opts.evaluateEveryMs > 0) {
      this.timer = setInterval(() => void this.tick(), this.opts.evaluateEveryMs);
      this.timer.unref();
    }
  }

  /** Whether a running canary is known here (the wiring observes predictions only then). */
  get active(): boolean {
    for (const t of this.tracked.values()) if (t.running) return true;
    return false;
  }

  /** The running and paused canaries (a router listener). */
  sync(experiments: readonly Experiment[]): void {
    const seen = new Set<string>();
    for (const e of experiments) {
      if (e.type !== 'canary') continue;
      seen.add(e.name);
      let step = -1;
      try {
        step = canaryStepOf(canarySettings(e).config, e.weights);
      } catch (err) {
        this.opts.onError?.(err, `canary settings of ${e.name}`);
      }
      const known = this.tracked.get(e.name);
      if (known !== undefined) {
        known.running = e.status === 'running';
        known.step = step;
        continue;
      }
      this.tracked.set(e.name, {
        name: e.name,
        arms: [e.arms[0]!.name, e.arms[1]!.name],
        running: e.status === 'running',
        step,
        counters: new Map(),
      });
    }
    for (const [name, t] of this.tracked) {
      if (seen.has(name)) continue;
      this.tracked.delete(name);
      const dirty = [...t.counters.values()].filter((c) => c.dirty);
      if (dirty.length > 0) this.leftovers.push({ name, counters: dirty });
    }
  }

  /** Hot path: a Map lookup, then a few counter increments for a canary's request. */
  onPrediction(event: PredictionEvent<NamedTensors, NamedTensors>): void {
    if (event.experiment === undefined) return;
    const t = this.tracked.get(event.experiment);
    if (t === undefined || !t.running || t.step < 0) return;
    const armIndex: number = event.arm === t.arms[0] ? 0 : event.arm === t.arms[1] ? 1 : -1;
    if (armIndex < 0) return;
    // One counter per (step, arm): a number key, and no record object or label list per request
    // (bench/experiments profiled them as a canary's main cost over an A/B test's, with their garbage).
    const key = t.step * 2 + armIndex;
    let counter = t.counters.get(key);
    if (counter === undefined) {
      counter = { step: t.step, arm: t.arms[armIndex]!, stats: new RequestStats(), dirty: false };
      t.counters.set(key, counter);
    }
    const predictions = event.predictions;
    if (event.error !== undefined || predictions === undefined) counter.stats.recordFailure();
    else {
      counter.stats.recordSuccess(event.cacheHits === 0 ? Math.max(0, event.latencyMs) : undefined);
      for (const p of predictions) counter.stats.countLabel(outputLabel(p) ?? '');
    }
    counter.dirty = true;
  }

  /** Writes this replica's counters, then evaluates every canary it knows (one at a time). */
  tick(): Promise<void> {
    if (this.ticking !== undefined) return this.ticking;
    this.ticking = this.runTick().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  /** Writes what changed since the last write (all canaries, or only `name`). */
  async flush(name?: string): Promise<void> {
    const writes: CanaryStatsWrite[] = [];
    const written: Counter[] = [];
    const take = (experiment: string, counters: Iterable<Counter>) => {
      for (const c of counters) {
        if (!c.dirty) continue;
        writes.push({ experiment, step: c.step, arm: c.arm, stats: c.stats.toJSON() });
        written.push(c);
      }
    };
    const leftovers = this.leftovers.filter((l) => name === undefined || l.name === name);
    this.leftovers = this.leftovers.filter((l) => !leftovers.includes(l));
    for (const l of leftovers) take(l.name, l.counters);
    for (const t of this.tracked.values())
      if (name === undefined || t.name === name) take(t.name, t.counters.values());
    if (writes.length === 0) return;
    // Marked clean before the write: a request counted meanwhile marks its counter dirty again.
    for (const c of written) c.dirty = false;
    try {
      await this.opts.stats.upsertCanary(this.opts.replica, writes);
    } catch (err) {
      for (const c of written) c.dirty = true;
      throw err;
    }
  }

  /** Stops the timer and writes the counters a last time. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking?.catch(() => {});
    await this.flush().catch((err: unknown) => this.opts.onError?.(err, 'canary stats write'));
  }

  private async runTick(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.flush();
    } catch (err) {
      this.opts.onError?.(err, 'canary stats write');
    }
    for (const name of [...this.tracked.keys()]) {
      if (this.stopped) return;
      try {
        await this.opts.evaluate(name);
      } catch (err) {
        this.opts.onError?.(err, `canary evaluation of ${name}`);
      }
    }
  }
}
