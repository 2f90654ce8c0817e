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
import { EXPERIMENT_NAME } from '../ports/experiment-api.js';
import { isValidAlias, isValidModelName, MAX_VERSION } from '../registry/model-ref.js';
import {
  ACTIVE_STATUSES,
  type AnalysisSettings,
  type ArmDefinition,
  BANDIT_POLICIES,
  type BanditPolicyName,
  type BanditSettings,
  DEFAULT_METRIC_BOUND,
  DEFAULT_MIN_UNITS_PER_ARM,
  EXPERIMENT_TYPES,
  type Experiment,
  type ExperimentDefinition,
  type ExperimentEvent,
  type ExperimentStatus,
  type ExperimentType,
  MAX_METRIC_BOUND,
  METRIC_KINDS,
  type MetricDefinition,
  type MetricKind,
  type PowerEstimate,
  type PowerRequest,
  ROUTING_TYPES,
} from './experiment-types.js';
import { canarySettings, canaryWeights, shadowSettings } from './live-settings.js';
import { unitsPerArmForMeans, unitsPerArmForProportions } from './stats/power.js';

const WEIGHT_SUM_TOLERANCE = 1e-9;
const MAX_ARMS = 20;
const MAX_METRICS = 20;
/** Longest unit id (user id) routed or accepted in an event, in UTF-16 code units. */
const MAX_UNIT_LENGTH = 256;
const MAX_EVENT_ID_LENGTH = 256;
/**
 * An event's `at` must fall within [the experiment's creation − 5 min, now + 5 min]: the skew
 * tolerates clocks of reporting applications that run a little ahead or behind.
 */
export const EVENT_TIME_SKEW_MS = 5 * 60_000;

const ARM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

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
 * Why `unit` cannot be a unit id, or undefined when it can: 1 to 256 UTF-16 units, no NUL, no
 * unpaired surrogate (both databases store UTF-8 and could not keep those exactly).
 */
export function unitProblem(unit: unknown): string | undefined {
  if (typeof unit !== 'string') return 'must be a string';
  if (unit.length === 0) return 'must not be empty';
  if (unit.length > MAX_UNIT_LENGTH) return `must be at most ${MAX_UNIT_LENGTH} characters`;
  if (unit.includes('\u0000')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(unit)) return 'must be well-formed Unicode (no unpaired surrogates)';
  return undefined;
}

type Raw = Record<string, unknown>;

function isObject(x: unknown): x is Raw {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function onlyKeys(obj: Raw, allowed: readonly string[], where: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw invalidExperiment(
        `unknown field ${JSON.stringify(key)} in ${where}; allowed: ${allowed.join(', ')}`,
        {
          field: `${where}.${key}`,
        },
      );
    }
  }
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw invalidExperiment(`${field} must be one of ${allowed.join(', ')}`, { field, value });
  }
  return value as T;
}

function finiteNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalidExperiment(`${field} must be a finite number`, { field, value });
  }
  return value;
}

function integer(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw invalidExperiment(`${field} must be an integer ${range}`, { field, value });
  }
  return value;
}

function name(value: unknown, pattern: RegExp, field: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw invalidExperiment(
      `${field} must be 1-${pattern === EXPERIMENT_NAME ? 100 : 64} letters, digits, '.', '_' or '-', starting with a letter or digit`,
      { field, value },
    );
  }
  return value;
}

const TOP_LEVEL = [
  'name',
  'type',
  'model',
  'arms',
  'coverage',
  'seed',
  'metrics',
  'bandit',
  'power',
  'description',
  'canary',
  'shadow',
  'analysis',
] as const;

/**
 * Checks a submitted definition and fills in its defaults. Pure: the registry (do the versions
 * exist?) and the other experiments (overlap) are checked by `checkArmsExist` and `checkOverlap`.
 */
export function parseExperimentDefinition(raw: unknown): ExperimentDefinition {
  if (!isObject(raw)) throw invalidExperiment('an experiment definition must be a JSON object');
  onlyKeys(raw, TOP_LEVEL, 'experiment');
  const experimentName = name(raw.name, EXPERIMENT_NAME, 'name');
  const type = oneOf<ExperimentType>(raw.type ?? 'ab', EXPERIMENT_TYPES, 'type');
  if (typeof raw.model !== 'string' || !isValidModelName(raw.model)) {
    throw invalidExperiment('model must be a registered model name (e.g. "tagifai")', {
      field: 'model',
      value: raw.model,
    });
  }
  const model = raw.model;
  const arms = parseArms(raw.arms, type);
  const coverage = raw.coverage === undefined ? 1 : finiteNumber(raw.coverage, 'coverage');
  if (!(coverage >= 0 && coverage <= 1)) {
    throw invalidExperiment('coverage must be within [0, 1]', { field: 'coverage', value: coverage });
  }
  let seed = experimentName;
  if (raw.seed !== undefined) {
    if (typeof raw.seed !== 'string' || raw.seed.length === 0 || raw.seed.length > 256) {
      throw invalidExperiment('seed must be a string of 1 to 256 characters', { field: 'seed' });
    }
    seed = raw.seed;
  }
  const metrics = parseMetrics(raw.metrics, type);
  const def: ExperimentDefinition = { name: experimentName, type, model, arms, coverage, seed, metrics };
  if (raw.bandit !== undefined || type === 'bandit') {
    if (type !== 'bandit')
      throw invalidExperiment('bandit settings are for type "bandit" only', { field: 'bandit' });
    def.bandit = parseBandit(raw.bandit, arms.length, metrics);
  }
  if (raw.power !== undefined) def.power = parsePower(raw.power, metrics);
  def.analysis = parseAnalysis(raw.analysis);
  if (raw.description !== undefined) {
    if (typeof raw.description !== 'string' || raw.description.length > 2000) {
      throw invalidExperiment('description must be a string of at most 2000 characters', {
        field: 'description',
      });
    }
    def.description = raw.description;
  }
  for (const key of ['canary', 'shadow'] as const) {
    const value = raw[key];
    if (value === undefined) continue;
    if (type !== key) throw invalidExperiment(`${key} settings are for type "${key}" only`, { field: key });
    if (!isObject(value)) throw invalidExperiment(`${key} must be an object`, { field: key });
    def[key] = JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
  }
  if (type === 'shadow') shadowSettings(def);
  if (type === 'canary') {
    // A canary's weights follow its steps: the first step's share at creation, then the controller's.
    const first = canarySettings(def).config.steps[0]!;
    const weights = canaryWeights(first);
    const given = (raw.arms as unknown[]).some((a) => isObject(a) && a.weight !== undefined);
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

function parseArms(raw: unknown, type: ExperimentType): ArmDefinition[] {
  if (!Array.isArray(raw)) throw invalidExperiment('arms must be an array', { field: 'arms' });
  if (type === 'shadow' || type === 'canary') {
    if (raw.length !== 2) {
      throw invalidExperiment(`a ${type} has exactly two arms: production first, then the candidate`, {
        field: 'arms',
        count: raw.length,
      });
    }
  } else if (raw.length < 2 || raw.length > MAX_ARMS) {
    throw invalidExperiment(`an experiment needs 2 to ${MAX_ARMS} arms (the first is the control)`, {
      field: 'arms',
      count: raw.length,
    });
  }
  const given = raw.filter((a) => isObject(a) && a.weight !== undefined).length;
  if (given !== 0 && given !== raw.length) {
    throw invalidWeights('give every arm a weight, or none (equal weights)', { field: 'arms' });
  }
  const seen = new Set<string>();
  const arms = raw.map((a, i): ArmDefinition => {
    const where = `arms[${i}]`;
    if (!isObject(a)) throw invalidExperiment(`${where} must be an object`, { field: where });
    onlyKeys(a, ['name', 'version', 'alias', 'weight'], where);
    const armName = name(a.name, ARM_NAME, `${where}.name`);
    if (seen.has(armName)) {
      throw invalidExperiment(`arm names must be unique; "${armName}" appears twice`, { field: where });
    }
    seen.add(armName);
    if ((a.version === undefined) === (a.alias === undefined)) {
      throw invalidExperiment(`${where} needs exactly one of "version" and "alias"`, { field: where });
    }
    const arm: ArmDefinition = { name: armName, weight: given === 0 ? 1 / raw.length : Number.NaN };
    if (a.version !== undefined) arm.version = integer(a.version, `${where}.version`, 1, MAX_VERSION);
    if (a.alias !== undefined) {
      if (typeof a.alias !== 'string' || !isValidAlias(a.alias)) {
        throw invalidExperiment(`${where}.alias is not a valid alias name`, {
          field: `${where}.alias`,
          value: a.alias,
        });
      }
      arm.alias = a.alias;
    }
    if (given !== 0) {
      if (typeof a.weight !== 'number' || !Number.isFinite(a.weight) || a.weight < 0 || a.weight > 1) {
        throw invalidWeights(`${where}.weight must be a number within [0, 1]`, {
          field: `${where}.weight`,
          value: a.weight,
        });
      }
      arm.weight = a.weight;
    }
    return arm;
  });
  assertWeights(arms.map((a) => a.weight));
  return arms;
}

/** Weights: finite, non-negative, summing to 1 within 1e-9. */
export function assertWeights(weights: readonly number[]): void {
  if (weights.some((w) => !Number.isFinite(w) || w < 0)) {
    throw invalidWeights('weights must be finite and non-negative', { weights });
  }
  const total = weights.reduce((s, w) => s + w, 0);
  if (Math.abs(total - 1) > WEIGHT_SUM_TOLERANCE) {
    throw invalidWeights(`weights must sum to 1, got ${total}`, { weights, total });
  }
}

function parseMetrics(raw: unknown, type: ExperimentType): MetricDefinition[] {
  const list = raw ?? [];
  if (!Array.isArray(list)) throw invalidExperiment('metrics must be an array', { field: 'metrics' });
  if ((type === 'ab' || type === 'bandit') && list.length === 0) {
    throw invalidExperiment(`an experiment of type "${type}" needs at least one metric`, {
      field: 'metrics',
    });
  }
  if (list.length > MAX_METRICS) {
    throw invalidExperiment(`at most ${MAX_METRICS} metrics`, { field: 'metrics', count: list.length });
  }
  const seen = new Set<string>();
  return list.map((m, i): MetricDefinition => {
    const where = `metrics[${i}]`;
    if (!isObject(m)) throw invalidExperiment(`${where} must be an object`, { field: where });
    onlyKeys(m, ['name', 'kind', 'tau', 'min', 'max'], where);
    const metricName = name(m.name, ARM_NAME, `${where}.name`);
    if (seen.has(metricName)) {
      throw invalidExperiment(`metric names must be unique; "${metricName}" appears twice`, { field: where });
    }
    seen.add(metricName);
    const kind = oneOf<MetricKind>(m.kind, METRIC_KINDS, `${where}.kind`);
    const metric: MetricDefinition = { name: metricName, kind };
    if (m.tau !== undefined) {
      const tau = finiteNumber(m.tau, `${where}.tau`);
      if (!(tau > 0)) throw invalidExperiment(`${where}.tau must be positive`, { field: `${where}.tau` });
      metric.tau = tau;
    }
    if (m.min !== undefined || m.max !== undefined) {
      if (kind === 'binary') {
        throw invalidExperiment(`${where}: min and max are for numeric metrics (binary values are 0 or 1)`, {
          field: where,
        });
      }
      if (m.min !== undefined) metric.min = parseBound(m.min, `${where}.min`);
      if (m.max !== undefined) metric.max = parseBound(m.max, `${where}.max`);
      const { min, max } = metricBounds(metric);
      if (!(min < max)) {
        throw invalidExperiment(`${where}.min must be below ${where}.max`, { field: where, min, max });
      }
    }
    return metric;
  });
}

function parseAnalysis(raw: unknown): AnalysisSettings {
  const a = raw ?? {};
  if (!isObject(a)) throw invalidExperiment('analysis must be an object', { field: 'analysis' });
  onlyKeys(a, ['minUnitsPerArm'], 'analysis');
  return {
    minUnitsPerArm:
      a.minUnitsPerArm === undefined
        ? DEFAULT_MIN_UNITS_PER_ARM
        : integer(a.minUnitsPerArm, 'analysis.minUnitsPerArm', 2),
  };
}

/** The bounds of a numeric metric's event values (its own, else ±DEFAULT_METRIC_BOUND). */
export function metricBounds(metric: MetricDefinition): { min: number; max: number } {
  if (metric.kind === 'binary') return { min: 0, max: 1 };
  return { min: metric.min ?? -DEFAULT_METRIC_BOUND, max: metric.max ?? DEFAULT_METRIC_BOUND };
}

function parseBound(value: unknown, field: string): number {
  const bound = finiteNumber(value, field);
  if (Math.abs(bound) > MAX_METRIC_BOUND) {
    throw invalidExperiment(`${field} must be within ±${MAX_METRIC_BOUND}`, { field, value });
  }
  return bound;
}

function parseBandit(raw: unknown, arms: number, metrics: readonly MetricDefinition[]): BanditSettings {
  const b = raw ?? {};
  if (!isObject(b)) throw invalidExperiment('bandit must be an object', { field: 'bandit' });
  onlyKeys(
    b,
    ['policy', 'floor', 'minUnitsPerArm', 'updateEveryMs', 'metric', 'epsilon', 'rewardRange'],
    'bandit',
  );
  const policy = oneOf<BanditPolicyName>(b.policy ?? 'thompson', BANDIT_POLICIES, 'bandit.policy');
  const floor = b.floor === undefined ? Math.min(0.05, 1 / arms) : finiteNumber(b.floor, 'bandit.floor');
  if (!(floor >= 0 && floor * arms <= 1 + 1e-12)) {
    throw invalidExperiment(`bandit.floor must be within [0, 1/${arms}]`, {
      field: 'bandit.floor',
      value: floor,
    });
  }
  const settings: BanditSettings = {
    policy,
    floor,
    minUnitsPerArm:
      b.minUnitsPerArm === undefined ? 100 : integer(b.minUnitsPerArm, 'bandit.minUnitsPerArm', 0),
    updateEveryMs:
      b.updateEveryMs === undefined ? 3_600_000 : integer(b.updateEveryMs, 'bandit.updateEveryMs', 1),
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
    const epsilon = finiteNumber(b.epsilon, 'bandit.epsilon');
    if (!(epsilon >= 0 && epsilon <= 1)) {
      throw invalidExperiment('bandit.epsilon must be within [0, 1]', { field: 'bandit.epsilon' });
    }
    settings.epsilon = epsilon;
  } else if (policy === 'epsilon-greedy') {
    settings.epsilon = 0.1;
  }
  if (b.rewardRange !== undefined) {
    if (policy !== 'ucb1')
      throw invalidExperiment('bandit.rewardRange is for ucb1', { field: 'bandit.rewardRange' });
    const range = finiteNumber(b.rewardRange, 'bandit.rewardRange');
    if (!(range > 0))
      throw invalidExperiment('bandit.rewardRange must be positive', { field: 'bandit.rewardRange' });
    settings.rewardRange = range;
  }
  return settings;
}

function parsePower(raw: unknown, metrics: readonly MetricDefinition[]): PowerRequest {
  if (!isObject(raw)) throw invalidExperiment('power must be an object', { field: 'power' });
  onlyKeys(raw, ['metric', 'baseline', 'sigma', 'mde', 'relative', 'alpha', 'power'], 'power');
  const metricName = raw.metric ?? metrics[0]?.name;
  const metric = metrics.find((m) => m.name === metricName);
  if (metric === undefined) {
    throw invalidExperiment('power.metric must name one of the metrics', { field: 'power.metric' });
  }
  const power: PowerRequest = { metric: metric.name, mde: finiteNumber(raw.mde, 'power.mde') };
  if (raw.relative !== undefined) {
    if (typeof raw.relative !== 'boolean')
      throw invalidExperiment('power.relative must be a boolean', { field: 'power.relative' });
    power.relative = raw.relative;
  }
  if (raw.baseline !== undefined) power.baseline = finiteNumber(raw.baseline, 'power.baseline');
  if (raw.sigma !== undefined) power.sigma = finiteNumber(raw.sigma, 'power.sigma');
  if (raw.alpha !== undefined) power.alpha = finiteNumber(raw.alpha, 'power.alpha');
  if (raw.power !== undefined) power.power = finiteNumber(raw.power, 'power.power');
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
  resolve(ref: string): Promise<{ version: number }>;
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
  for (const [i, arm] of def.arms.entries()) {
    const ref = arm.version !== undefined ? `${def.model}/${arm.version}` : `${def.model}@${arm.alias}`;
    try {
      versions.push((await registry.resolve(ref)).version);
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
  return versions;
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
 * Parses `{unit, metric, value, event_id[, at]}` or `{events: [...]}` against the experiment's
 * metrics: binary values are 0 or 1 (true/false accepted), numeric values finite numbers within the
 * metric's bounds (see metricBounds); `at` within the experiment's life ± EVENT_TIME_SKEW_MS.
 */
export function parseEvents(
  raw: unknown,
  experiment: Experiment,
  maxEvents: number,
  now: Date = new Date(),
): ExperimentEvent[] {
  if (!isObject(raw)) throw invalidExperiment('the body must be an event object or {"events": [...]}');
  let list: unknown[];
  if (raw.events !== undefined) {
    onlyKeys(raw, ['events'], 'body');
    if (!Array.isArray(raw.events) || raw.events.length === 0) {
      throw invalidExperiment('events must be a non-empty array', { field: 'events' });
    }
    list = raw.events;
  } else {
    list = [raw];
  }
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
    const where = raw.events !== undefined ? `events[${i}]` : 'body';
    if (!isObject(e)) throw invalidExperiment(`${where} must be an object`, { field: where });
    onlyKeys(e, ['unit', 'metric', 'value', 'event_id', 'at'], where);
    const problem = unitProblem(e.unit);
    if (problem !== undefined)
      throw invalidExperiment(`${where}.unit ${problem}`, { field: `${where}.unit` });
    const eventId = e.event_id;
    if (
      typeof eventId !== 'string' ||
      eventId.length === 0 ||
      eventId.length > MAX_EVENT_ID_LENGTH ||
      unitProblem(eventId) !== undefined
    ) {
      throw invalidExperiment(
        `${where}.event_id must be a string of 1 to ${MAX_EVENT_ID_LENGTH} characters`,
        {
          field: `${where}.event_id`,
        },
      );
    }
    const kind = typeof e.metric === 'string' ? kinds.get(e.metric) : undefined;
    if (kind === undefined) {
      throw invalidExperiment(
        `${where}.metric must be one of the experiment's metrics: ${[...kinds.keys()].join(', ') || '(none)'}`,
        { field: `${where}.metric`, value: e.metric },
      );
    }
    let value: number;
    if (kind === 'binary') {
      value = e.value === true ? 1 : e.value === false ? 0 : (e.value as number);
      if (value !== 0 && value !== 1) {
        throw invalidExperiment(`${where}.value must be 0 or 1 for the binary metric "${e.metric}"`, {
          field: `${where}.value`,
          value: e.value,
        });
      }
    } else {
      value = finiteNumber(e.value, `${where}.value`);
      const { min, max } = bounds.get(e.metric as string)!;
      if (value < min || value > max) {
        throw invalidExperiment(
          `${where}.value must be within [${min}, ${max}] for the metric "${e.metric}" (its min and max)`,
          { field: `${where}.value`, value, min, max },
        );
      }
    }
    const event: ExperimentEvent = { eventId, unit: e.unit as string, metric: e.metric as string, value };
    if (e.at !== undefined) {
      const ms = typeof e.at === 'string' ? Date.parse(e.at) : Number.NaN;
      if (Number.isNaN(ms))
        throw invalidExperiment(`${where}.at must be an ISO 8601 time`, { field: `${where}.at` });
      if (ms < earliest || ms > latest) {
        throw invalidExperiment(
          `${where}.at must fall within the experiment's life: from its creation (${experiment.createdAt}) to now, ± ${EVENT_TIME_SKEW_MS / 60_000} minutes`,
          {
            field: `${where}.at`,
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

/** Most event ids in one exclusion request. */
const MAX_EXCLUDED_IDS = 1000;

/**
 * The body of POST /v1/experiments/:id/events/exclude: `{reason, event_ids?, unit?, metric?,
 * outOfRange?, by?}` (`by`: who excludes, recorded with the channel); at least one of event_ids, unit and outOfRange (so that a typo cannot exclude a whole
 * metric), every condition given must hold. `reason` (1 to 500 characters) is recorded.
 */
export function parseExclusion(
  raw: unknown,
  experiment: Experiment,
): {
  selection: { eventIds?: string[]; unit?: string; metric?: string; outOfRange?: boolean };
  reason: string;
  by?: string;
} {
  if (!isObject(raw)) throw invalidExperiment('the body must be a JSON object');
  onlyKeys(raw, ['event_ids', 'unit', 'metric', 'outOfRange', 'reason', 'by'], 'body');
  if (raw.by !== undefined && unitProblem(raw.by) !== undefined) {
    throw invalidExperiment('by (who excludes, recorded) must be a string of 1 to 256 characters', {
      field: 'by',
    });
  }
  if (typeof raw.reason !== 'string' || raw.reason.trim().length === 0 || raw.reason.length > 500) {
    throw invalidExperiment('reason must be a string of 1 to 500 characters (it is recorded)', {
      field: 'reason',
    });
  }
  const selection: { eventIds?: string[]; unit?: string; metric?: string; outOfRange?: boolean } = {};
  if (raw.event_ids !== undefined) {
    const ids = raw.event_ids;
    if (
      !Array.isArray(ids) ||
      ids.length === 0 ||
      ids.length > MAX_EXCLUDED_IDS ||
      ids.some((id) => unitProblem(id) !== undefined)
    ) {
      throw invalidExperiment(`event_ids must be 1 to ${MAX_EXCLUDED_IDS} event ids`, { field: 'event_ids' });
    }
    selection.eventIds = [...new Set(ids as string[])];
  }
  if (raw.unit !== undefined) {
    const problem = unitProblem(raw.unit);
    if (problem !== undefined) throw invalidExperiment(`unit ${problem}`, { field: 'unit' });
    selection.unit = raw.unit as string;
  }
  if (raw.metric !== undefined) {
    if (typeof raw.metric !== 'string' || !experiment.metrics.some((m) => m.name === raw.metric)) {
      throw invalidExperiment("metric must be one of the experiment's metrics", {
        field: 'metric',
        value: raw.metric,
      });
    }
    selection.metric = raw.metric;
  }
  if (raw.outOfRange !== undefined) {
    if (typeof raw.outOfRange !== 'boolean')
      throw invalidExperiment('outOfRange must be a boolean', { field: 'outOfRange' });
    if (raw.outOfRange) selection.outOfRange = true;
  }
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
  return { selection, reason: raw.reason, ...(raw.by !== undefined ? { by: raw.by as string } : {}) };
}
