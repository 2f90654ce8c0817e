/**
 * Validation at the edge: what POST /v1/experiments and `ferry experiments create` accept, the
 * registry check of the arms, the overlap rule and the status transitions. Every refusal carries a
 * stable code:
 * - FERRY_EXPERIMENT_INVALID (400): malformed definition or event, unknown field, unknown version or
 *   alias (details.registry says what the registry has), bad metric kind, bad bandit settings.
 * - FERRY_EXPERIMENT_INVALID_WEIGHTS (400): weights negative, or not summing to 1 (± 1e-9).
 * - FERRY_EXPERIMENT_CONFLICT (409): a name already used, an overlapping experiment, or a status
 *   change that is not allowed (resuming a stopped experiment, concluding twice).
 */

import { ErrorCode, FerryError, isFerryError } from '../core/errors.js';
import { type JsonSchema, schemaProblem } from '../core/schema-check.js';
import { storableTextProblem } from '../core/text-guard.js';
import type { Signature } from '../model/tensor.js';
import { isValidAlias, isValidModelName } from '../registry/model-ref.js';
import {
  conclusionSchema,
  definitionSchema,
  eventsBodySchema,
  exclusionSchema,
  MAX_EVENT_ID_LENGTH,
  MAX_EXCLUDED_IDS,
  MAX_UNIT_LENGTH,
  reasonSchema,
} from './experiment-schemas.js';
import {
  ACTIVE_STATUSES,
  type ArmDefinition,
  type BanditPolicyName,
  type BanditSettings,
  DEFAULT_METRIC_BOUND,
  DEFAULT_MIN_UNITS_PER_ARM,
  type Experiment,
  type ExperimentDefinition,
  type ExperimentEvent,
  type ExperimentStatus,
  type ExperimentType,
  type MetricDefinition,
  type MetricKind,
  type PowerEstimate,
  type PowerRequest,
  ROUTING_TYPES,
} from './experiment-types.js';
import { canarySettings, canaryWeights, shadowSettings } from './live-settings.js';
import { unitsPerArmForMeans, unitsPerArmForProportions } from './stats/power.js';

const WEIGHT_SUM_TOLERANCE = 1e-9;
/**
 * An event's `at` must fall within [the experiment's creation − 5 min, now + 5 min]: the skew
 * tolerates clocks of reporting applications that run a little ahead or behind.
 */
export const EVENT_TIME_SKEW_MS = 5 * 60_000;

function invalidExperiment(message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError(ErrorCode.EXPERIMENT_INVALID, message, { details });
}

function invalidWeights(message: string, details: Record<string, unknown>): FerryError {
  return new FerryError(ErrorCode.EXPERIMENT_INVALID_WEIGHTS, message, { details });
}

export function experimentConflict(message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError(ErrorCode.EXPERIMENT_CONFLICT, message, { details });
}

// The name rule and its 404 are the API's contract (ports/experiment-api.ts), shared with the HTTP layer.
export { experimentNotFound } from '../ports/experiment-api.js';

/**
 * Checks `raw` against one of the experiments API's schemas (experiment-schemas.ts): a refusal is a
 * 400 with the schema's code (FERRY_EXPERIMENT_INVALID unless it names another) and details.field.
 */
export function conform(schema: JsonSchema, raw: unknown, root = ''): void {
  const problem = schemaProblem(schema, raw, root);
  if (problem === undefined) return;
  const code =
    problem.code === ErrorCode.EXPERIMENT_INVALID_WEIGHTS ? problem.code : ErrorCode.EXPERIMENT_INVALID;
  throw new FerryError(code, problem.message, { details: { field: problem.field } });
}

/**
 * Why `unit` cannot be a unit id, or undefined when it can: 1 to 256 UTF-16 units, no NUL, no
 * unpaired surrogate (both databases store UTF-8 and could not keep those exactly).
 */
export function unitProblem(unit: unknown): string | undefined {
  if (typeof unit !== 'string') return 'must be a string';
  if (unit.length === 0) return 'must not be empty';
  if (unit.length > MAX_UNIT_LENGTH) return `must be at most ${MAX_UNIT_LENGTH} characters`;
  return storableTextProblem(unit);
}

type Raw = Record<string, unknown>;

/**
 * Checks a submitted definition and fills in its defaults. Pure: the registry (do the versions
 * exist?) and the other experiments (overlap) are checked by `checkArmsExist` and `checkOverlap`.
 * The shape (fields, types, ranges, names) is definitionSchema's; below are the rules it cannot say.
 */
export function parseExperimentDefinition(raw: unknown): ExperimentDefinition {
  conform(definitionSchema, raw);
  const body = raw as Raw;
  const experimentName = body.name as string;
  const type = (body.type ?? 'ab') as ExperimentType;
  if (!isValidModelName(body.model as string)) {
    throw invalidExperiment('model must be a registered model name (e.g. "tagifai")', {
      field: 'model',
      value: body.model,
    });
  }
  const model = body.model as string;
  const arms = parseArms(body.arms as Raw[], type);
  const coverage = (body.coverage ?? 1) as number;
  const seed = (body.seed ?? experimentName) as string;
  const metrics = parseMetrics((body.metrics ?? []) as Raw[], type);
  const def: ExperimentDefinition = { name: experimentName, type, model, arms, coverage, seed, metrics };
  if (body.bandit !== undefined || type === 'bandit') {
    if (type !== 'bandit')
      throw invalidExperiment('bandit settings are for type "bandit" only', { field: 'bandit' });
    def.bandit = parseBandit((body.bandit ?? {}) as Raw, arms.length, metrics);
  }
  if (body.power !== undefined) def.power = parsePower(body.power as Raw, metrics);
  const analysis = (body.analysis ?? {}) as Raw;
  def.analysis = { minUnitsPerArm: (analysis.minUnitsPerArm ?? DEFAULT_MIN_UNITS_PER_ARM) as number };
  if (body.description !== undefined) def.description = body.description as string;
  for (const key of ['canary', 'shadow'] as const) {
    const value = body[key];
    if (value === undefined) continue;
    if (type !== key) throw invalidExperiment(`${key} settings are for type "${key}" only`, { field: key });
    def[key] = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  }
  if (type === 'shadow') shadowSettings(def);
  if (type === 'canary') {
    // A canary's weights follow its steps: the first step's share at creation, then the controller's.
    const first = canarySettings(def).config.steps[0]!;
    const weights = canaryWeights(first);
    const given = (body.arms as Raw[]).some((a) => a.weight !== undefined);
    if (given && arms.some((a, i) => Math.abs(a.weight - weights[i]!) > WEIGHT_SUM_TOLERANCE)) {
      throw invalidWeights(
        `a canary's weights follow its steps: omit them, or give [${weights.join(', ')}] (the first step)`,
        { field: 'arms', weights: arms.map((a) => a.weight), expected: weights },
      );
    }
    arms.forEach((a, i) => {
      a.weight = weights[i]!;
    });
  }
  return def;
}

function parseArms(raw: readonly Raw[], type: ExperimentType): ArmDefinition[] {
  if ((type === 'shadow' || type === 'canary') && raw.length !== 2) {
    throw invalidExperiment(`a ${type} has exactly two arms: production first, then the candidate`, {
      field: 'arms',
      count: raw.length,
    });
  }
  const given = raw.filter((a) => a.weight !== undefined).length;
  if (given !== 0 && given !== raw.length) {
    throw invalidWeights('give every arm a weight, or none (equal weights)', { field: 'arms' });
  }
  const seen = new Set<string>();
  const arms = raw.map((a, i): ArmDefinition => {
    const where = `arms[${i}]`;
    const armName = a.name as string;
    if (seen.has(armName)) {
      throw invalidExperiment(`arm names must be unique; "${armName}" appears twice`, { field: where });
    }
    seen.add(armName);
    if ((a.version === undefined) === (a.alias === undefined)) {
      throw invalidExperiment(`${where} needs exactly one of "version" and "alias"`, { field: where });
    }
    const arm: ArmDefinition = {
      name: armName,
      weight: given === 0 ? 1 / raw.length : (a.weight as number),
    };
    if (a.version !== undefined) arm.version = a.version as number;
    if (a.alias !== undefined) {
      if (!isValidAlias(a.alias as string)) {
        throw invalidExperiment(`${where}.alias is not a valid alias name`, {
          field: `${where}.alias`,
          value: a.alias,
        });
      }
      arm.alias = a.alias as string;
    }
    return arm;
  });
  assertWeights(
    arms.map((a) => a.weight),
    'arms',
  );
  return arms;
}

/** Weights: finite, non-negative, summing to 1 within 1e-9. */
export function assertWeights(weights: readonly number[], field?: string): void {
  const where = field === undefined ? {} : { field };
  if (weights.some((w) => !Number.isFinite(w) || w < 0)) {
    throw invalidWeights('weights must be finite and non-negative', { ...where, weights });
  }
  const total = weights.reduce((s, w) => s + w, 0);
  if (Math.abs(total - 1) > WEIGHT_SUM_TOLERANCE) {
    throw invalidWeights(`weights must sum to 1, got ${total}`, { ...where, weights, total });
  }
}

function parseMetrics(list: readonly Raw[], type: ExperimentType): MetricDefinition[] {
  if ((type === 'ab' || type === 'bandit') && list.length === 0) {
    throw invalidExperiment(`an experiment of type "${type}" needs at least one metric`, {
      field: 'metrics',
    });
  }
  const seen = new Set<string>();
  return list.map((m, i): MetricDefinition => {
    const where = `metrics[${i}]`;
    const metricName = m.name as string;
    if (seen.has(metricName)) {
      throw invalidExperiment(`metric names must be unique; "${metricName}" appears twice`, { field: where });
    }
    seen.add(metricName);
    const metric: MetricDefinition = { name: metricName, kind: m.kind as MetricKind };
    if (m.tau !== undefined) metric.tau = m.tau as number;
    if (m.min !== undefined || m.max !== undefined) {
      if (metric.kind === 'binary') {
        throw invalidExperiment(`${where}: min and max are for numeric metrics (binary values are 0 or 1)`, {
          field: where,
        });
      }
      if (m.min !== undefined) metric.min = m.min as number;
      if (m.max !== undefined) metric.max = m.max as number;
      const { min, max } = metricBounds(metric);
      if (!(min < max)) {
        throw invalidExperiment(`${where}.min must be below ${where}.max`, { field: where, min, max });
      }
    }
    return metric;
  });
}

/** The bounds of a numeric metric's event values (its own, else ±DEFAULT_METRIC_BOUND). */
export function metricBounds(metric: MetricDefinition): { min: number; max: number } {
  if (metric.kind === 'binary') return { min: 0, max: 1 };
  return { min: metric.min ?? -DEFAULT_METRIC_BOUND, max: metric.max ?? DEFAULT_METRIC_BOUND };
}

function parseBandit(b: Raw, arms: number, metrics: readonly MetricDefinition[]): BanditSettings {
  const policy = (b.policy ?? 'thompson') as BanditPolicyName;
  const floor = b.floor === undefined ? Math.min(0.05, 1 / arms) : (b.floor as number);
  if (!(floor * arms <= 1 + 1e-12)) {
    throw invalidExperiment(`bandit.floor must be within [0, 1/${arms}]`, {
      field: 'bandit.floor',
      value: floor,
    });
  }
  const settings: BanditSettings = {
    policy,
    floor,
    minUnitsPerArm: (b.minUnitsPerArm ?? 100) as number,
    updateEveryMs: (b.updateEveryMs ?? 3_600_000) as number,
  };
  const metric = b.metric ?? metrics[0]?.name;
  if (typeof metric !== 'string' || !metrics.some((m) => m.name === metric)) {
    throw invalidExperiment('bandit.metric must name one of the metrics', {
      field: 'bandit.metric',
      value: metric,
    });
  }
  settings.metric = metric;
  if (b.epsilon !== undefined) {
    if (policy !== 'epsilon-greedy')
      throw invalidExperiment('bandit.epsilon is for epsilon-greedy', { field: 'bandit.epsilon' });
    settings.epsilon = b.epsilon as number;
  } else if (policy === 'epsilon-greedy') {
    settings.epsilon = 0.1;
  }
  if (b.rewardRange !== undefined) {
    if (policy !== 'ucb1')
      throw invalidExperiment('bandit.rewardRange is for ucb1', { field: 'bandit.rewardRange' });
    settings.rewardRange = b.rewardRange as number;
  }
  return settings;
}

function parsePower(raw: Raw, metrics: readonly MetricDefinition[]): PowerRequest {
  const metricName = raw.metric ?? metrics[0]?.name;
  const metric = metrics.find((m) => m.name === metricName);
  if (metric === undefined) {
    throw invalidExperiment('power.metric must name one of the metrics', { field: 'power.metric' });
  }
  const power: PowerRequest = { metric: metric.name, mde: raw.mde as number };
  for (const key of ['relative', 'baseline', 'sigma', 'alpha', 'power'] as const) {
    if (raw[key] !== undefined) Object.assign(power, { [key]: raw[key] });
  }
  if (metric.kind === 'binary' && power.baseline === undefined) {
    throw invalidExperiment('power.baseline (the control rate) is needed for a binary metric', {
      field: 'power.baseline',
    });
  }
  if (metric.kind === 'numeric') {
    if (power.sigma === undefined) {
      throw invalidExperiment('power.sigma (the standard deviation) is needed for a numeric metric', {
        field: 'power.sigma',
      });
    }
    if (power.relative)
      throw invalidExperiment('power.relative is for binary metrics', { field: 'power.relative' });
  }
  // Compute once now, so that a bad request is refused at creation rather than at display.
  powerEstimate({ arms: [], coverage: 1, metrics: [metric], power });
  return power;
}

/**
 * The units-needed estimate of `def.power` (Fleiss for rates, the normal formula for means), scaled
 * up so that the smallest arm gets its share at the configured weights and coverage.
 */
export function powerEstimate(
  def: Pick<ExperimentDefinition, 'arms' | 'coverage' | 'metrics' | 'power'>,
): PowerEstimate | undefined {
  const p = def.power;
  if (p === undefined) return undefined;
  const metric = def.metrics.find((m) => m.name === p.metric) ?? def.metrics[0];
  if (metric === undefined) return undefined;
  const alpha = p.alpha ?? 0.05;
  const power = p.power ?? 0.8;
  let unitsPerArm: number;
  let treatmentRate: number | undefined;
  try {
    if (metric.kind === 'binary') {
      const r = unitsPerArmForProportions({
        baselineRate: p.baseline ?? Number.NaN,
        mde: p.mde,
        mdeKind: p.relative ? 'relative' : 'absolute',
        alpha,
        power,
      });
      unitsPerArm = r.unitsPerArm;
      treatmentRate = r.treatmentRate;
    } else {
      unitsPerArm = unitsPerArmForMeans({
        sigma: p.sigma ?? Number.NaN,
        mde: p.mde,
        alpha,
        power,
      }).unitsPerArm;
    }
  } catch (e) {
    if (isFerryError(e, ErrorCode.EXPERIMENT_INVALID_STATS_INPUT)) {
      throw invalidExperiment(`power: ${e.message}`, { field: 'power', ...e.details });
    }
    throw e;
  }
  const positive = def.arms.map((a) => a.weight).filter((w) => w > 0);
  const smallest = positive.length === 0 ? 1 : Math.min(...positive);
  const exposedUnits = Math.ceil(unitsPerArm / smallest - 1e-9);
  const eligibleUnits =
    def.coverage > 0 ? Math.ceil(exposedUnits / def.coverage - 1e-9) : Number.POSITIVE_INFINITY;
  return {
    metric: metric.name,
    kind: metric.kind,
    unitsPerArm,
    exposedUnits,
    eligibleUnits,
    alpha,
    power,
    ...(treatmentRate !== undefined ? { treatmentRate } : {}),
  };
}

/** The absolute MDE of `power` when it is for `metric`: a natural mSPRT mixing scale τ. */
export function absoluteMde(def: Pick<ExperimentDefinition, 'power'>, metric: string): number | undefined {
  const p = def.power;
  if (p === undefined || p.metric !== metric) return undefined;
  if (p.relative) return p.baseline === undefined ? undefined : Math.abs(p.baseline * p.mde);
  return Math.abs(p.mde);
}

/** What `checkArmsExist` needs from the registry (ModelRegistry fits). */
export interface VersionResolver {
  /** The version behind a ref, with its signature when the registry stored one. */
  resolve(ref: string): Promise<{ version: number; signature?: Signature | null }>;
}

/**
 * Every arm's version or alias must exist in the registry now. An unknown one is refused with
 * FERRY_EXPERIMENT_INVALID (400): the definition is wrong, not the URL; `details.registry` carries
 * the registry's own error (what versions and aliases exist).
 */
export async function checkArmsExist(
  def: ExperimentDefinition,
  registry: VersionResolver,
): Promise<number[]> {
  const versions: number[] = [];
  const inputs: { arm: string; signature: Signature }[] = [];
  for (const [i, arm] of def.arms.entries()) {
    const ref = arm.version !== undefined ? `${def.model}/${arm.version}` : `${def.model}@${arm.alias}`;
    try {
      const resolved = await registry.resolve(ref);
      versions.push(resolved.version);
      if (resolved.signature) inputs.push({ arm: arm.name, signature: resolved.signature });
    } catch (e) {
      if (
        isFerryError(e) &&
        (e.code === ErrorCode.REGISTRY_NOT_FOUND || e.code === ErrorCode.REGISTRY_INVALID_REF)
      ) {
        throw new FerryError(
          ErrorCode.EXPERIMENT_INVALID,
          `arm "${arm.name}" refers to ${ref}, which the registry does not have: ${e.message}`,
          {
            details: { field: `arms[${i}]`, ref, registry: { code: e.code, ...e.details } },
            cause: e,
          },
        );
      }
      throw e;
    }
  }
  checkSameInputs(inputs);
  return versions;
}

/**
 * The arms of one experiment share their traffic: a request must fit every arm's inputs, or the
 * arm it was routed to would refuse it (400) while another would answer. Arms of any kinds are fine
 * when they take the same tensors (names, datatypes, shapes). Versions registered before signatures
 * were stored (none known) are not compared.
 */
function checkSameInputs(arms: readonly { arm: string; signature: Signature }[]): void {
  const key = (s: Signature) =>
    JSON.stringify(
      [...s.inputs].sort((a, b) => (a.name < b.name ? -1 : 1)).map((t) => [t.name, t.datatype, t.shape]),
    );
  const [first, ...rest] = arms;
  if (first === undefined) return;
  const expected = key(first.signature);
  for (const other of rest) {
    if (key(other.signature) !== expected) {
      throw new FerryError(
        ErrorCode.EXPERIMENT_INVALID,
        `arm "${other.arm}" takes other inputs than arm "${first.arm}" (${expected} vs ${key(other.signature)}): a request could not fit both`,
        { details: { field: 'arms' } },
      );
    }
  }
}

/**
 * A canary must release something new: its candidate (second arm) must not resolve to the version
 * its production arm resolves to, nor to the model's `production` alias now (400
 * FERRY_EXPERIMENT_INVALID_CANARY_CONFIG): such a release would compare a version with itself and
 * "promote" what is already in production.
 */
export async function checkCanaryCandidate(
  def: ExperimentDefinition,
  registry: VersionResolver,
  resolved: readonly number[],
): Promise<void> {
  if (def.type !== 'canary') return;
  const candidate = resolved[1];
  const current = new Set<number>([resolved[0]!]);
  try {
    current.add((await registry.resolve(`${def.model}@production`)).version);
  } catch (e) {
    // A model without a production alias yet: the production arm is the only reference.
    if (
      !isFerryError(e) ||
      (e.code !== ErrorCode.REGISTRY_NOT_FOUND && e.code !== ErrorCode.REGISTRY_INVALID_REF)
    )
      throw e;
  }
  if (candidate !== undefined && current.has(candidate)) {
    throw new FerryError(
      ErrorCode.EXPERIMENT_INVALID_CANARY_CONFIG,
      `the canary's candidate (arm "${def.arms[1]!.name}") resolves to version ${candidate}, which is already in production: a canary must release another version`,
      { details: { field: 'arms[1]', version: candidate, production: [...current] } },
    );
  }
}

/**
 * The overlap rule: per model, at most one routing experiment (ab, bandit, canary) running or
 * paused, and at most one shadow. Two routing experiments would both claim the same requests (a
 * unit can only be answered by one version), so the second is refused rather than silently
 * partitioning traffic; a shadow only mirrors, so it may run beside one routing experiment.
 */
export function checkOverlap(def: ExperimentDefinition, others: readonly Experiment[]): void {
  const routing = ROUTING_TYPES.includes(def.type);
  for (const other of others) {
    if (other.name === def.name || other.model !== def.model) continue;
    if (!ACTIVE_STATUSES.includes(other.status)) continue;
    const otherRouting = ROUTING_TYPES.includes(other.type);
    if (routing === otherRouting) {
      throw experimentConflict(
        routing
          ? `model "${def.model}" already has a routing experiment "${other.name}" (${other.type}, ${other.status}); stop it first: one routing experiment per model at a time`
          : `model "${def.model}" already has a shadow test "${other.name}" (${other.status}); one shadow per model at a time`,
        { model: def.model, conflictsWith: other.name, type: other.type, status: other.status },
      );
    }
  }
}

export type Transition = 'pause' | 'resume' | 'stop' | 'conclude';

/** The status after `action`, or a 409 when the move is not allowed. Same-status moves are no-ops. */
export function nextStatus(current: ExperimentStatus, action: Transition): ExperimentStatus {
  const allowed: Record<Transition, { from: readonly ExperimentStatus[]; to: ExperimentStatus }> = {
    pause: { from: ['running', 'paused'], to: 'paused' },
    resume: { from: ['running', 'paused'], to: 'running' },
    stop: { from: ['running', 'paused', 'stopped'], to: 'stopped' },
    conclude: { from: ['running', 'paused', 'stopped'], to: 'concluded' },
  };
  const rule = allowed[action];
  if (!rule.from.includes(current)) {
    throw experimentConflict(`cannot ${action} an experiment that is ${current}`, {
      status: current,
      action,
    });
  }
  return rule.to;
}

/** Events are accepted while running or paused; stopped and concluded experiments refuse them (409). */
export function assertAcceptsEvents(experiment: Experiment): void {
  if (experiment.status === 'running' || experiment.status === 'paused') return;
  throw new FerryError(
    ErrorCode.EXPERIMENT_NOT_RUNNING,
    `experiment "${experiment.name}" is ${experiment.status}: it accepts no more events`,
    { details: { name: experiment.name, status: experiment.status } },
  );
}

/**
 * The shape of an events body (eventsBodySchema); a single event's fields are named `body.value`,
 * a batch's `events[0].value`, as parseEvents names them.
 */
export function checkEventsBody(raw: unknown): void {
  const batch = typeof raw === 'object' && raw !== null && 'events' in raw;
  conform(eventsBodySchema, raw, batch ? '' : 'body');
}

/**
 * Parses `{unit, metric, value, event_id[, at]}` or `{events: [...]}` (eventsBodySchema) against the
 * experiment's metrics: binary values are 0 or 1 (true/false accepted), numeric values within the
 * metric's bounds (see metricBounds); `at` within the experiment's life ± EVENT_TIME_SKEW_MS; unit
 * and event ids without NUL or unpaired surrogates, at most 256 UTF-16 code units.
 */
export function parseEvents(
  raw: unknown,
  experiment: Experiment,
  maxEvents: number,
  now: Date = new Date(),
): ExperimentEvent[] {
  checkEventsBody(raw);
  const body = raw as Raw;
  const batch = body.events !== undefined;
  const list = (batch ? body.events : [body]) as Raw[];
  if (list.length > maxEvents) {
    throw invalidExperiment(`at most ${maxEvents} events per request`, {
      field: 'events',
      count: list.length,
    });
  }
  const kinds = new Map(experiment.metrics.map((m) => [m.name, m.kind] as const));
  const bounds = new Map(experiment.metrics.map((m) => [m.name, metricBounds(m)] as const));
  const earliest = Date.parse(experiment.createdAt) - EVENT_TIME_SKEW_MS;
  const latest = now.getTime() + EVENT_TIME_SKEW_MS;
  return list.map((e, i) => {
    const where = batch ? `events[${i}]` : 'body';
    const field = (key: string) => `${where}.${key}`;
    const problem = unitProblem(e.unit);
    if (problem !== undefined) throw invalidExperiment(`${where}.unit ${problem}`, { field: field('unit') });
    const eventId = e.event_id as string;
    if (unitProblem(eventId) !== undefined) {
      throw invalidExperiment(
        `${where}.event_id must be a string of 1 to ${MAX_EVENT_ID_LENGTH} characters, without NUL`,
        { field: field('event_id') },
      );
    }
    const metric = e.metric as string;
    const kind = kinds.get(metric);
    if (kind === undefined) {
      throw invalidExperiment(
        `${where}.metric must be one of the experiment's metrics: ${[...kinds.keys()].join(', ') || '(none)'}`,
        { field: field('metric'), value: e.metric },
      );
    }
    let value: number;
    if (kind === 'binary') {
      value = e.value === true ? 1 : e.value === false ? 0 : (e.value as number);
      if (value !== 0 && value !== 1) {
        throw invalidExperiment(`${where}.value must be 0 or 1 for the binary metric "${metric}"`, {
          field: field('value'),
          value: e.value,
        });
      }
    } else {
      if (typeof e.value !== 'number') {
        throw invalidExperiment(`${where}.value must be a finite number for the numeric metric "${metric}"`, {
          field: field('value'),
          value: e.value,
        });
      }
      value = e.value;
      const { min, max } = bounds.get(metric)!;
      if (value < min || value > max) {
        throw invalidExperiment(
          `${where}.value must be within [${min}, ${max}] for the metric "${metric}" (its min and max)`,
          { field: field('value'), value, min, max },
        );
      }
    }
    const event: ExperimentEvent = { eventId, unit: e.unit as string, metric, value };
    if (e.at !== undefined) {
      const ms = Date.parse(e.at as string);
      if (Number.isNaN(ms))
        throw invalidExperiment(`${where}.at must be an ISO 8601 time`, { field: field('at') });
      if (ms < earliest || ms > latest) {
        throw invalidExperiment(
          `${where}.at must fall within the experiment's life: from its creation (${experiment.createdAt}) to now, ± ${EVENT_TIME_SKEW_MS / 60_000} minutes`,
          {
            field: field('at'),
            value: e.at,
            earliest: new Date(earliest).toISOString(),
            latest: new Date(latest).toISOString(),
          },
        );
      }
      event.at = new Date(ms).toISOString();
    }
    return event;
  });
}

/**
 * The body of POST /v1/experiments/:id/events/exclude (exclusionSchema): `{reason, event_ids?,
 * unit?, metric?, outOfRange?, by?}` (`by`: who excludes, recorded with the channel); at least one
 * of event_ids, unit and outOfRange (so that a typo cannot exclude a whole metric), every condition
 * given must hold. `reason` (1 to 500 characters, not blank) is recorded.
 */
export function parseExclusion(
  raw: unknown,
  experiment: Experiment,
): {
  selection: { eventIds?: string[]; unit?: string; metric?: string; outOfRange?: boolean };
  reason: string;
  by?: string;
} {
  conform(exclusionSchema, raw);
  const body = raw as Raw;
  if (body.by !== undefined && unitProblem(body.by) !== undefined) {
    throw invalidExperiment('by (who excludes, recorded) must be a string of 1 to 256 characters', {
      field: 'by',
    });
  }
  const reason = body.reason as string;
  if (reason.trim().length === 0) {
    throw invalidExperiment('reason must be a string of 1 to 500 characters (it is recorded)', {
      field: 'reason',
    });
  }
  const selection: { eventIds?: string[]; unit?: string; metric?: string; outOfRange?: boolean } = {};
  if (body.event_ids !== undefined) {
    const ids = body.event_ids as string[];
    if (ids.some((id) => unitProblem(id) !== undefined)) {
      throw invalidExperiment(`event_ids must be 1 to ${MAX_EXCLUDED_IDS} event ids`, { field: 'event_ids' });
    }
    selection.eventIds = [...new Set(ids)];
  }
  if (body.unit !== undefined) {
    const problem = unitProblem(body.unit);
    if (problem !== undefined) throw invalidExperiment(`unit ${problem}`, { field: 'unit' });
    selection.unit = body.unit as string;
  }
  if (body.metric !== undefined) {
    if (!experiment.metrics.some((m) => m.name === body.metric)) {
      throw invalidExperiment("metric must be one of the experiment's metrics", {
        field: 'metric',
        value: body.metric,
      });
    }
    selection.metric = body.metric as string;
  }
  if (body.outOfRange === true) selection.outOfRange = true;
  if (
    selection.eventIds === undefined &&
    selection.unit === undefined &&
    selection.outOfRange === undefined
  ) {
    throw invalidExperiment(
      'give event_ids, unit or outOfRange: true (metric alone would exclude a whole metric)',
      {
        field: 'body',
      },
    );
  }
  return { selection, reason, ...(body.by !== undefined ? { by: body.by as string } : {}) };
}

/** The optional body of POST /v1/experiments/:id/conclude (conclusionSchema). */
export function parseConclusion(raw: unknown): { winner?: string | null; reason?: string } {
  conform(conclusionSchema, raw);
  if (raw === null || raw === undefined) return {};
  const body = raw as { winner?: string | null; reason?: string };
  return {
    ...(body.winner !== undefined ? { winner: body.winner } : {}),
    ...(body.reason !== undefined ? { reason: body.reason } : {}),
  };
}

/** The optional body of POST /v1/experiments/:id/promote|abort (reasonSchema). */
export function parseReason(raw: unknown): { reason?: string } {
  conform(reasonSchema, raw);
  const reason = (raw as { reason?: string } | null | undefined)?.reason;
  return reason === undefined ? {} : { reason };
}
