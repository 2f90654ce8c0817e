/**
 * Canary releases on the experiment store: the CanaryController's state lives in the experiment's
 * `controller_state`, next to the weights it implies, and every change of both is one
 * `store.update` (under the experiment's lock: the state is read, the transition made and the new
 * state written together, so two replicas cannot both apply a step; the write happens only when the
 * controller's revision moved).
 *
 * - evaluate(name): any replica, on a cadence. Merges every replica's counters of the current step
 *   (ferry_canary_stats) per arm and asks the controller. `step` → weights [1 - w, w]; `rollback` →
 *   weights [1, 0] and the experiment concluded (winner: the production arm, outcome `rolled_back`,
 *   the reason naming the thresholds crossed); `promote` → see below; `wait` → nothing written.
 * - Promotion, in three moves so that a crash between them is finished by the next evaluation on
 *   any replica: (1) the state says promoted and the weights go to [0, 1] (every covered unit gets
 *   the canary); (2) the registry's `production` alias moves to the canary's version (then
 *   `onPromoted`, the server's host.refresh()); (3) the experiment is concluded (winner: the canary
 *   arm, outcome `promoted`). Moving an alias to where it already points changes nothing.
 * - Manual pause, resume, stop, promote and abort map onto the controller (act()).
 * - Outcomes: when `thresholds.minOutcomeRatio` is set, each arm's outcome figures are its units with
 *   an event of the outcome metric and, among them, the converting ones, from the same SQL
 *   aggregates as the A/B analysis (over the whole experiment, not the step: outcomes arrive late).
 */
import { ErrorCode, FerryError } from '../../core/errors.js';
import type { SqlExecutor } from '../../ports/sql.js';
import type { CanaryAnalysis } from '../experiment-analysis.js';
import { experimentConflict, experimentNotFound, nextStatus } from '../experiment-definition.js';
import { type ExperimentEventHandlers, statusChange } from '../experiment-events.js';
import type { ExperimentStatsStore } from '../experiment-stats-store.js';
import type { ExperimentExtras, ExperimentPatch, ExperimentStore } from '../experiment-store.js';
import { ACTIVE_STATUSES, type Experiment } from '../experiment-types.js';
import { canarySettings, canaryWeights } from '../live-settings.js';
import { CanaryController, type Decision } from './canary-controller.js';
import { RequestStats, type RequestStatsSnapshot } from './request-stats.js';

/** The alias a promoted canary's version takes. */
const PROMOTED_ALIAS = 'production';

/** What promotion needs from the registry (ModelRegistry fits). */
export interface AliasRegistry {
  aliases(name: string): Promise<Record<string, number>>;
  setAlias(name: string, alias: string, version: number, reason?: string): Promise<unknown>;
}

export type CanaryAction = 'pause' | 'resume' | 'stop' | 'promote' | 'abort';

export interface CanaryReleaseOptions {
  store: ExperimentStore;
  /** Where the replicas' per-step counters are; without it every window is empty (the controller waits). */
  stats?: ExperimentStatsStore | undefined;
  /** Needed to promote (the alias move). */
  registry?: AliasRegistry | undefined;
  /** After the alias moved: the serving process reloads its aliases (host.refresh()). */
  onPromoted?: ((model: string, version: number) => Promise<void> | void) | undefined;
  /** After every change written (the router refreshes). */
  onChange?: ((experiment: Experiment) => Promise<void> | void) | undefined;
  onError?: ((error: unknown, context: string) => void) | undefined;
  /** Decisions and status changes, for the log. */
  events?: ExperimentEventHandlers | undefined;
}

/** Who made the decisions a canary makes on its own figures. */
const CONTROLLER = 'canary controller';

export interface CanaryEvaluation {
  experiment: Experiment;
  /** Undefined when there was nothing to evaluate (not a running canary, or its controller is done). */
  decision: Decision | undefined;
  /** Whether the decision changed the stored state (a step, a rollback or a promotion). */
  applied: boolean;
}

type Window = CanaryAnalysis['window'];

export class CanaryRelease {
  constructor(private readonly opts: CanaryReleaseOptions) {}

  /** The controller's state at creation, stored with the experiment (weights: the first step's). */
  static initialState(def: Pick<Experiment, 'canary' | 'metrics'>, nowMs: number): unknown {
    return CanaryController.start(canarySettings(def).config, nowMs).toJSON();
  }

  /** One evaluation of a running canary; see the file's comment. */
  async evaluate(name: string): Promise<CanaryEvaluation> {
    const { store } = this.opts;
    let decision: Decision | undefined;
    let applied = false;
    let promoted = false;
    let from: Experiment['status'] | null = null;
    const experiment = await store.update(name, async (e, tx, extras) => {
      from = e.status;
      if (e.type !== 'canary' || !ACTIVE_STATUSES.includes(e.status)) return undefined;
      const controller = this.load(e, extras);
      if (controller.status === 'promoted') {
        promoted = true;
        return undefined;
      }
      if (e.status !== 'running' || controller.status !== 'running') return undefined;
      const now = this.nowMs();
      const before = controller.state.revision;
      const window = await this.window(e, controller, tx);
      decision = controller.evaluate({ canary: window.canary, production: window.production }, now);
      if (controller.state.revision === before) return undefined;
      applied = true;
      promoted = decision.action === 'promote';
      return this.patchFor(e, controller, decision, now);
    });
    if (applied) {
      this.reportDecision(experiment, decision, CONTROLLER, from);
      await this.opts.onChange?.(experiment);
    }
    if (promoted) return { experiment: await this.finishPromotion(name), decision, applied };
    return { experiment, decision, applied };
  }

  /** A manual action; 409 when the controller or the experiment's status does not allow it. */
  async act(name: string, action: CanaryAction, reason?: string, by?: string): Promise<Experiment> {
    let promoted = false;
    let from: Experiment['status'] | null = null;
    let decided: Decision | undefined;
    const experiment = await this.opts.store.update(name, (e, _tx, extras) => {
      from = e.status;
      if (e.type !== 'canary') {
        throw experimentConflict(`${action} is for canary releases; "${e.name}" is of type ${e.type}`, {
          name: e.name,
          type: e.type,
          action,
        });
      }
      const controller = this.load(e, extras);
      const now = this.nowMs();
      const at = new Date(now).toISOString();
      switch (action) {
        case 'pause':
        case 'resume': {
          const status = nextStatus(e.status, action);
          if (status === e.status) return undefined;
          if (action === 'pause' && controller.status === 'running') controller.pause(now, reason);
          if (action === 'resume' && controller.status === 'paused') controller.resume(now, reason);
          return { status, controllerState: controller.toJSON() };
        }
        case 'stop': {
          const status = nextStatus(e.status, 'stop');
          if (status === e.status) return undefined;
          const patch: ExperimentPatch = { status };
          if (controller.status === 'running' || controller.status === 'paused') {
            const decision = controller.abort(now, reason ?? 'stopped by an operator');
            decided = decision;
            patch.controllerState = controller.toJSON();
            patch.weights = canaryWeights(0);
            patch.historyEntry = {
              at,
              weights: canaryWeights(0),
              reason: `canary stopped: ${decision.reason}`,
            };
          }
          return patch;
        }
        case 'promote':
        case 'abort': {
          if (!ACTIVE_STATUSES.includes(e.status)) {
            throw experimentConflict(`cannot ${action} a canary that is ${e.status}`, {
              status: e.status,
              action,
            });
          }
          if (action === 'promote' && controller.status === 'promoted') {
            // A promotion interrupted after its first move: finish it.
            promoted = true;
            return undefined;
          }
          const decision =
            action === 'promote'
              ? controller.promote(now, reason ?? 'promoted by an operator')
              : controller.abort(now, reason ?? 'aborted by an operator');
          promoted = action === 'promote';
          decided = decision;
          return this.patchFor(e, controller, decision, now);
        }
      }
    });
    this.reportDecision(experiment, decided, by ?? 'operator', from, action, reason);
    await this.opts.onChange?.(experiment);
    return promoted ? this.finishPromotion(name, by ?? 'operator') : experiment;
  }

  /**
   * Moves 2 and 3 of a promotion, when the stored state says promoted and the experiment is still
   * active; otherwise returns the experiment as it is.
   */
  async finishPromotion(name: string, by: string = CONTROLLER): Promise<Experiment> {
    const { store, registry } = this.opts;
    const found = await store.getWithExtras(name);
    if (found === undefined) throw experimentNotFound(name);
    const { experiment: e, extras } = found;
    if (e.type !== 'canary' || !ACTIVE_STATUSES.includes(e.status)) return e;
    const controller = this.load(e, extras);
    if (controller.status !== 'promoted') return e;
    if (registry === undefined) {
      throw new FerryError(ErrorCode.INTERNAL, 'promoting a canary needs the registry');
    }
    const arm = e.arms[1]!;
    const version = arm.version ?? (await registry.aliases(e.model))[arm.alias!];
    if (version === undefined) {
      throw experimentConflict(
        `cannot promote "${e.name}": the canary's alias "${arm.alias}" of "${e.model}" no longer exists`,
        { name: e.name, alias: arm.alias },
      );
    }
    const reason = [...controller.state.history].reverse().find((h) => h.action === 'promote')?.reason;
    await registry.setAlias(
      e.model,
      PROMOTED_ALIAS,
      version,
      `canary "${e.name}" promoted${reason !== undefined ? `: ${reason}` : ''}`,
    );
    try {
      await this.opts.onPromoted?.(e.model, version);
    } catch (err) {
      this.opts.onError?.(err, `reloading ${e.model} after promoting ${e.name}`);
    }
    const at = store.now().toISOString();
    const concluded = await store.update(name, (cur) =>
      ACTIVE_STATUSES.includes(cur.status)
        ? {
            status: 'concluded',
            conclusion: {
              at,
              winner: arm.name,
              ...(reason !== undefined ? { reason } : {}),
              outcome: 'promoted',
            },
          }
        : undefined,
    );
    const change = statusChange(e.status, concluded, 'promote', { by, reason });
    if (change !== undefined) this.opts.events?.onStatusChange?.(change);
    await this.opts.onChange?.(concluded);
    return concluded;
  }

  /** Reports a decision that moved the traffic, and the status change it made (or the action's). */
  private reportDecision(
    e: Experiment,
    decision: Decision | undefined,
    by: string,
    from: Experiment['status'] | null,
    action?: CanaryAction,
    reason?: string,
  ): void {
    const events = this.opts.events;
    if (events === undefined) return;
    if (decision !== undefined && decision.action !== 'wait') {
      events.onCanaryDecision?.({
        experiment: e.name,
        model: e.model,
        action: decision.action,
        reason: decision.reason,
        weight: decision.weight,
        by,
      });
    }
    const change = statusChange(from, e, action ?? 'rollback', {
      by,
      reason: reason ?? decision?.reason,
    });
    if (change !== undefined) events.onStatusChange?.(change);
  }

  /** The analysis' canary section, read with the experiment (in its transaction). */
  async view(e: Experiment, extras: ExperimentExtras, tx?: SqlExecutor): Promise<CanaryAnalysis> {
    const controller = this.load(e, extras);
    const window = await this.window(e, controller, tx);
    // A dry run on a copy: what the next evaluation will decide on these figures.
    const copy = CanaryController.fromJSON(controller.toJSON());
    const assessment = copy.evaluate({ canary: window.canary, production: window.production }, this.nowMs());
    const { state, config } = controller;
    const { metric } = canarySettings(e);
    return {
      status: state.status,
      stepIndex: state.stepIndex,
      steps: [...config.steps],
      weight: controller.weight,
      revision: state.revision,
      stepStartedAt: new Date(state.stepStartedAt).toISOString(),
      config,
      ...(metric !== undefined ? { outcomeMetric: metric } : {}),
      window,
      assessment,
      history: state.history.map((h) => ({ ...h, at: new Date(h.at).toISOString() })),
    };
  }

  private nowMs(): number {
    return this.opts.store.now().getTime();
  }

  /** The stored controller; a canary stored without one (created before controllers) starts at creation. */
  private load(e: Experiment, extras: ExperimentExtras): CanaryController {
    if (extras.controllerState === null || extras.controllerState === undefined) {
      return CanaryController.start(canarySettings(e).config, Date.parse(e.createdAt));
    }
    return CanaryController.fromJSON(extras.controllerState);
  }

  private patchFor(
    e: Experiment,
    controller: CanaryController,
    decision: Decision,
    now: number,
  ): ExperimentPatch {
    const at = new Date(now).toISOString();
    const controllerState = controller.toJSON();
    switch (decision.action) {
      case 'wait':
        return { controllerState };
      case 'step': {
        const weights = canaryWeights(decision.weight);
        return {
          controllerState,
          weights,
          historyEntry: {
            at,
            weights,
            reason: `canary step ${controller.state.stepIndex + 1}: ${decision.reason}`,
          },
        };
      }
      case 'promote': {
        const weights = canaryWeights(1);
        return {
          controllerState,
          weights,
          historyEntry: { at, weights, reason: `canary promoted: ${decision.reason}` },
        };
      }
      case 'rollback': {
        const weights = canaryWeights(0);
        const outcome = controller.status === 'aborted' ? 'aborted' : 'rolled_back';
        return {
          controllerState,
          weights,
          historyEntry: { at, weights, reason: `canary ${outcome.replace('_', ' ')}: ${decision.reason}` },
          status: 'concluded',
          conclusion: { at, winner: e.arms[0]!.name, reason: decision.reason, outcome },
        };
      }
    }
  }

  /** Both arms' counters over the controller's current step, merged over every replica's rows. */
  private async window(e: Experiment, controller: CanaryController, tx?: SqlExecutor): Promise<Window> {
    const stepIndex = controller.state.stepIndex;
    const { stats, store } = this.opts;
    const rows = stats === undefined ? [] : await stats.canaryRows(e.name, stepIndex, tx);
    const arms = [new RequestStats(), new RequestStats()];
    const replicas = new Set<string>();
    let invalidRows = 0;
    for (const row of rows) {
      const index = e.arms.findIndex((a) => a.name === row.arm);
      if (index < 0 || index > 1) continue;
      try {
        arms[index]!.merge(RequestStats.fromJSON(row.stats));
        replicas.add(row.replica);
      } catch (err) {
        invalidRows += 1;
        this.opts.onError?.(err, `canary stats of ${e.name} (replica ${row.replica})`);
      }
    }
    const [production, canary] = arms.map((a) => a.snapshot()) as [
      RequestStatsSnapshot,
      RequestStatsSnapshot,
    ];
    const { metric } = canarySettings(e);
    if (metric !== undefined) {
      const aggregates = await store.aggregates(e, tx);
      [production, canary].forEach((snapshot, i) => {
        const m = aggregates.arms[i]?.metrics[metric];
        const units = m?.unitsWithEvents ?? 0;
        const successes = m?.conversions ?? 0;
        snapshot.outcomes = { units, successes, rate: units === 0 ? null : successes / units };
      });
    }
    return { stepIndex, replicas: replicas.size, invalidRows, production, canary };
  }
}
