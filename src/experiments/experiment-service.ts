/**
 * The experiment use cases, shared by the HTTP API and the CLI: create (validated against the
 * registry and the overlap rule), list, show with analysis, pause/resume/stop/conclude, record
 * outcome events, set weights, and the canary releases' manual actions (see canary-release.ts).
 */

import { ErrorCode, FerryError, isFerryError } from '../core/errors.js';
import type { ExperimentApi } from '../ports/experiment-api.js';
import type { SqlExecutor } from '../ports/sql.js';
import { type AliasRegistry, CanaryRelease } from './canary/canary-release.js';
import {
  analyzeExperiment,
  type ExperimentAnalysis,
  type SequentialState,
  type ShadowAnalysis,
} from './experiment-analysis.js';
import { EXPERIMENT_BODIES } from './experiment-bodies.js';
import {
  assertAcceptsEvents,
  assertWeights,
  checkArmsExist,
  checkCanaryCandidate,
  nextStatus,
  parseEvents,
  parseExclusion,
  parseExperimentDefinition,
  powerEstimate,
  type Transition,
  type VersionResolver,
} from './experiment-definition.js';
import {
  type ExperimentEventHandlers,
  type ExperimentStatusChange,
  statusChange,
} from './experiment-events.js';
import type { ExperimentStatsStore } from './experiment-stats-store.js';
import type { ExperimentStore } from './experiment-store.js';
import type { Experiment, PowerEstimate } from './experiment-types.js';
import { shadowSettings } from './live-settings.js';
import { ShadowStats } from './shadow/shadow-stats.js';

export interface ExperimentServiceOptions {
  store: ExperimentStore;
  /** Arms are checked against it; promoting a canary moves its `production` alias (ModelRegistry fits). */
  registry: VersionResolver & Partial<AliasRegistry>;
  /** The replicas' shadow and canary counters; without it no shadow report and empty canary windows. */
  stats?: ExperimentStatsStore;
  /** Called after every change made through this service (the router refreshes at once). */
  onChange?: (experiment: Experiment) => void | Promise<void>;
  /** After a canary's promotion moved the alias (the server reloads its aliases). */
  onPromoted?: (model: string, version: number) => void | Promise<void>;
  onError?: (error: unknown, context: string) => void;
  /** Most events per request. */
  maxEvents?: number;
  /** Status changes and canary decisions, for the log. */
  events?: ExperimentEventHandlers;
}

export interface EventsResult {
  /** Events stored now. */
  accepted: number;
  /** Events whose event_id was already stored (or repeated in the request): counted once. */
  duplicates: number;
}

export class ExperimentService implements ExperimentApi {
  /** Canary releases: evaluation (by the serving processes' runners) and the manual actions. */
  readonly canary: CanaryRelease;
  /** The request bodies' schemas and checks, for the HTTP layer (ports/experiment-api.ts). */
  readonly bodies = EXPERIMENT_BODIES;

  constructor(private readonly opts: ExperimentServiceOptions) {
    const { registry } = opts;
    this.canary = new CanaryRelease({
      store: opts.store,
      stats: opts.stats,
      registry:
        registry.aliases !== undefined && registry.setAlias !== undefined
          ? (registry as AliasRegistry)
          : undefined,
      onPromoted: opts.onPromoted,
      onChange: (e) => this.changed(e),
      onError: opts.onError,
      events: opts.events,
    });
  }

  get store(): ExperimentStore {
    return this.opts.store;
  }

  get stats(): ExperimentStatsStore | undefined {
    return this.opts.stats;
  }

  /** `by`: who asked, for the log (e.g. `admin (http, request …)`). */
  async create(raw: unknown, by?: string): Promise<{ experiment: Experiment; power?: PowerEstimate }> {
    const def = parseExperimentDefinition(raw);
    const versions = await checkArmsExist(def, this.opts.registry);
    await checkCanaryCandidate(def, this.opts.registry, versions);
    const experiment = await this.opts.store.create(
      def,
      def.type === 'canary'
        ? { controllerState: CanaryRelease.initialState(def, this.opts.store.now().getTime()) }
        : {},
    );
    this.report(statusChange(null, experiment, 'create', { by }));
    await this.changed(experiment);
    const power = powerEstimate(experiment);
    return power === undefined ? { experiment } : { experiment, power };
  }

  list(filter: { model?: string; statuses?: Experiment['status'][] } = {}): Promise<Experiment[]> {
    return this.opts.store.list(filter);
  }

  get(name: string): Promise<Experiment> {
    return this.opts.store.require(name);
  }

  /**
   * The analysis from the database's aggregates, read in the same transaction as the experiment's
   * always-valid state, which this look is folded into (idempotent for unchanged data).
   */
  async analyze(name: string): Promise<ExperimentAnalysis> {
    let result: ExperimentAnalysis | undefined;
    await this.opts.store.update(name, async (experiment, tx, extras) => {
      const aggregates = await this.opts.store.aggregates(experiment, tx);
      const previous = extras.sequential as SequentialState;
      const { analysis, sequential } = analyzeExperiment(experiment, aggregates, previous);
      // A section that cannot be computed (settings stored before they were checked, say) is left
      // out and reported, rather than failing the whole analysis.
      try {
        if (experiment.type === 'shadow') analysis.shadow = await this.shadowAnalysis(experiment, tx);
        if (experiment.type === 'canary') analysis.canary = await this.canary.view(experiment, extras, tx);
      } catch (err) {
        if (!isFerryError(err) || (err.status >= 500 && err.code !== ErrorCode.EXPERIMENT_INVALID_STATE))
          throw err;
        this.opts.onError?.(err, `the ${experiment.type} section of ${experiment.name}'s analysis`);
      }
      result = analysis;
      if (JSON.stringify(sequential) === JSON.stringify(previous)) return undefined;
      // Recording a look is not a change of the experiment: keep its revision for the router.
      return { sequential };
    });
    return result!;
  }

  /**
   * pause, resume or stop; asking for the status it already has changes nothing. A canary's
   * controller follows (paused, resumed; stopped = aborted, its traffic back to production).
   */
  async transition(name: string, action: Exclude<Transition, 'conclude'>, by?: string): Promise<Experiment> {
    if ((await this.opts.store.require(name)).type === 'canary') {
      return this.canary.act(name, action, undefined, by);
    }
    let from: Experiment['status'] | null = null;
    const experiment = await this.opts.store.update(name, (e) => {
      from = e.status;
      const status = nextStatus(e.status, action);
      return status === e.status ? undefined : { status };
    });
    this.report(statusChange(from, experiment, action, { by }));
    await this.changed(experiment);
    return experiment;
  }

  /** Records the decision (a winner among the arms, or none) and stops routing. */
  async conclude(
    name: string,
    opts: { winner?: string | null; reason?: string; by?: string } = {},
  ): Promise<Experiment> {
    let from: Experiment['status'] | null = null;
    const experiment = await this.opts.store.update(name, (e) => {
      from = e.status;
      nextStatus(e.status, 'conclude');
      const winner = opts.winner ?? null;
      if (winner !== null && !e.arms.some((a) => a.name === winner)) {
        throw new FerryError(
          ErrorCode.EXPERIMENT_INVALID,
          `winner must be one of the arms: ${e.arms.map((a) => a.name).join(', ')}`,
          { details: { field: 'winner', value: winner } },
        );
      }
      const at = new Date(this.opts.store.now().getTime()).toISOString();
      return {
        status: 'concluded',
        conclusion: { at, winner, ...(opts.reason !== undefined ? { reason: opts.reason } : {}) },
      };
    });
    this.report(statusChange(from, experiment, 'conclude', { by: opts.by, reason: opts.reason }));
    await this.changed(experiment);
    return experiment;
  }

  /**
   * Canaries only (409 otherwise): promote now, whatever the figures say (the registry's `production`
   * alias moves to the canary's version and the experiment is concluded), or abort (the canary's
   * traffic goes back to production; concluded with production as the winner).
   */
  async canaryAction(
    name: string,
    action: 'promote' | 'abort',
    reason?: string,
    by?: string,
  ): Promise<Experiment> {
    return this.canary.act(name, action, reason, by);
  }

  /**
   * Sets the weights in force (validated: one per arm, summing to 1) and appends them to the
   * history. For canary steps and manual changes; bandits are updated by the router.
   */
  async setWeights(name: string, weights: readonly number[], reason: string): Promise<Experiment> {
    const experiment = await this.opts.store.update(name, (e) => {
      if (weights.length !== e.arms.length) {
        throw new FerryError(
          ErrorCode.EXPERIMENT_INVALID_WEIGHTS,
          `need one weight per arm (${e.arms.length}), got ${weights.length}`,
          { details: { weights } },
        );
      }
      assertWeights(weights);
      const at = this.opts.store.now().toISOString();
      return { weights: [...weights], historyEntry: { at, weights: [...weights], reason } };
    });
    await this.changed(experiment);
    return experiment;
  }

  /**
   * Stores outcome events after strict validation against the experiment's metrics. 409
   * FERRY_EXPERIMENT_NOT_RUNNING once the experiment is stopped or concluded; paused experiments
   * still accept outcomes. Events of units never exposed are stored and counted apart by the analysis.
   */
  async recordEvents(name: string, body: unknown): Promise<EventsResult> {
    const experiment = await this.opts.store.require(name);
    assertAcceptsEvents(experiment);
    const events = parseEvents(body, experiment, this.opts.maxEvents ?? 1000, this.opts.store.now());
    const { inserted, duplicates } = await this.opts.store.recordEvents(name, events);
    return { accepted: inserted, duplicates };
  }

  /**
   * Excludes events of an experiment (any status): they stay stored with when, by whom and why, and
   * no analysis, bandit update or canary evaluation counts them again. See parseExclusion for the
   * body; returns how many were excluded now (events already excluded keep their first record).
   */
  async excludeEvents(
    name: string,
    body: unknown,
    channel: { defaultBy: string; via: string },
  ): Promise<{ excluded: number }> {
    const experiment = await this.opts.store.require(name);
    const { selection, reason, by } = parseExclusion(body, experiment);
    const recordedBy = `${by ?? channel.defaultBy} (${channel.via})`;
    const excluded = await this.opts.store.excludeEvents(name, selection, { by: recordedBy, reason });
    return { excluded };
  }

  /** Every replica's persisted shadow counters, merged. Unreadable rows are skipped and counted. */
  private async shadowAnalysis(e: Experiment, tx: SqlExecutor): Promise<ShadowAnalysis> {
    const rows = this.opts.stats === undefined ? [] : await this.opts.stats.shadowRows(e.name, tx);
    const merged = new ShadowStats();
    let replicas = 0;
    let invalidRows = 0;
    let updatedAt: string | null = null;
    for (const row of rows) {
      try {
        merged.merge(ShadowStats.fromJSON(row.stats));
        replicas += 1;
        if (updatedAt === null || row.updatedAt > updatedAt) updatedAt = row.updatedAt;
      } catch (err) {
        invalidRows += 1;
        this.opts.onError?.(err, `shadow stats of ${e.name} (replica ${row.replica})`);
      }
    }
    return { settings: shadowSettings(e), replicas, invalidRows, updatedAt, report: merged.report() };
  }

  private report(change: ExperimentStatusChange | undefined): void {
    if (change !== undefined) this.opts.events?.onStatusChange?.(change);
  }

  private async changed(experiment: Experiment): Promise<void> {
    await this.opts.onChange?.(experiment);
  }
}
