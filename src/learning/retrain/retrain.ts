import { ErrorCode, FerryError, isFerryError, toFerryError } from '../../core/errors.js';
import type { TextModel } from '../../model/model.js';
import {
  DEFAULT_PARAMS,
  featurize,
  TEXT_CLASSIFIER_KIND,
  TextClassifier,
  type TextClassifierParams,
} from '../../model/text-classifier.js';
import { textSignature } from '../../model/text-tensors.js';
import type { FeedbackSource } from '../../monitoring/feedback-types.js';
import type { ExperimentApi } from '../../ports/experiment-api.js';
import { loadTextModel } from '../../registry/load-model.js';
import type { ModelRegistry } from '../../registry/model-registry.js';
import type { ModelVersion } from '../../registry/types.js';
import { runBehavioralTests } from '../../train/behavioral.js';
import type { Dataset, LabeledProject } from '../../train/dataset.js';
import { type EvaluationReport, evaluateModel } from '../../train/evaluate.js';
import { type TrainOutcome, trainTextClassifier } from '../../train/pipeline.js';
import { GRIDS } from '../../train/tune.js';
import { decideGate, type GateDecision, type GateSettings, type ModelEvaluation } from './gate.js';
import type { RetrainStore } from './retrain-store.js';
import { combineRows, type FeedbackUse } from './training-rows.js';

export type RetrainPolicy = 'staging' | 'canary' | 'promote';
export type RetrainTrigger = 'manual' | 'schedule' | 'labels' | 'drift';

export interface RetrainDeps {
  registry: ModelRegistry;
  store: RetrainStore;
  /** Reads and validates a dataset location (FERRY_DATA_* errors propagate). */
  loadDataset: (loc: string | undefined) => Promise<Dataset>;
  /** Labeled feedback; null: the dataset alone. */
  feedback: FeedbackSource | null;
  /** Needed by the `canary` policy only. */
  experiments: ExperimentApi | null;
  /**
   * Called once the candidate is registered, with what its reference profile is made of (the
   * wiring stores the profile; a failure there is the hook's to report, never the run's).
   */
  onRegistered?: (
    version: ModelVersion,
    outcome: TrainOutcome,
    trainRows: readonly LabeledProject[],
  ) => Promise<void>;
  now?: () => Date;
}

export interface RetrainRequest {
  model: string;
  trigger: RetrainTrigger;
  /** Why, for the record (the drift alert's summary, "42 new labels", the cron expression). */
  cause?: string;
  datasetLoc: string | undefined;
  policy: RetrainPolicy;
  gate: GateSettings;
  seed: number;
  /** Share of the combined rows kept aside to evaluate both models (default 0.2). */
  evalFraction?: number;
  /** Cross-validate this grid (a name of GRIDS) on the train part; default: no tuning (cheap). */
  tuneGrid?: string;
  /**
   * How long the lease lasts without renewal. Training blocks the thread, so the lease is renewed
   * between the phases (load, train, evaluate, register): it must outlast the longest phase.
   */
  leaseMs?: number;
}

/** What each model scored on the evaluation rows (the course's report) and how the gate judged. */
export interface RetrainResult {
  runId: string;
  model: string;
  status: 'passed' | 'refused';
  candidate: { version: number; evaluation: EvaluationReport };
  production: {
    version: number;
    evaluation: EvaluationReport;
    /**
     * `served`: the production model as it is served. `refit`: it was trained on this dataset file,
     * so on the evaluation rows too; its recipe (its stored params) is refit on the dataset rows of
     * the train part and scored instead, which is what it would score had it not seen them. Its
     * behavioural tests (fixed sentences, not rows) are the served model's.
     */
    scoredAs: 'served' | 'refit';
  } | null;
  decision: GateDecision;
  feedback: FeedbackUse;
  dataset: { source: string; rows: number; trainRows: number; evalRows: number };
  /** What the policy did; null when the gate refused. */
  outcome: PolicyOutcome | null;
}

export type PolicyOutcome =
  | { policy: 'staging' | 'promote'; alias: string; version: number; note?: string }
  | { policy: 'canary'; experiment: string; version: number };

const DEFAULT_LEASE_MS = 15 * 60_000;
const PRODUCTION = 'production';

/**
 * One retraining: the dataset plus the labeled feedback, one seeded stratified split into a train
 * and an evaluation part, the candidate trained on the train part, the candidate and production
 * scored on the same evaluation rows, the gate, the candidate registered (refit on every row, as
 * `ferry train` does), and the policy applied only when the gate passed. The run is recorded from
 * start to end under the model's lease; a failure is recorded with its code and rethrown.
 */
export async function retrain(deps: RetrainDeps, req: RetrainRequest): Promise<RetrainResult> {
  const leaseMs = req.leaseMs ?? DEFAULT_LEASE_MS;
  const runId = await deps.store.start({
    model: req.model,
    trigger: req.cause ? `${req.trigger}: ${req.cause}` : req.trigger,
    policy: req.policy,
    leaseMs,
  });
  const renew = async () => {
    if (!(await deps.store.renew(req.model, runId, leaseMs))) {
      throw new FerryError(
        ErrorCode.RETRAIN_BUSY,
        `run ${runId} of ${req.model} lost its lease (a phase outlasted it and another run took over)`,
        { details: { model: req.model, run: runId } },
      );
    }
  };
  let candidateVersion: number | null = null;
  let productionVersion: number | null = null;
  try {
    const result = await runPhases(deps, req, runId, renew, (c, p) => {
      candidateVersion = c ?? candidateVersion;
      productionVersion = p ?? productionVersion;
    });
    await deps.store.finish(req.model, runId, {
      status: result.status,
      candidateVersion: result.candidate.version,
      productionVersion: result.production?.version ?? null,
      decision: { ...result.decision, feedback: result.feedback, dataset: result.dataset },
      outcome: result.outcome,
    });
    return result;
  } catch (e) {
    const err = toFerryError(e);
    // The run's own error is what the caller needs; a failure to record it (the database went away)
    // leaves the run `running` with a lease that expires, which the next run marks abandoned.
    await deps.store
      .finish(req.model, runId, {
        status: 'failed',
        candidateVersion,
        productionVersion,
        errorCode: err.code,
        errorMessage: err.message,
      })
      .catch(() => {});
    throw e;
  }
}

async function currentProduction(registry: ModelRegistry, model: string): Promise<ModelVersion | null> {
  try {
    return await registry.resolve(`${model}@${PRODUCTION}`);
  } catch (e) {
    if (isFerryError(e, ErrorCode.REGISTRY_NOT_FOUND)) return null;
    throw e;
  }
}

function asGateInput(report: EvaluationReport): ModelEvaluation {
  return {
    f1: report.overall.f1,
    perClass: Object.fromEntries(Object.entries(report.per_class).map(([c, m]) => [c, m.f1])),
    behavioralPassed: report.behavioral.passed,
    behavioralFailed: report.behavioral.failed,
    rows: report.overall.num_samples,
  };
}

async function runPhases(
  deps: RetrainDeps,
  req: RetrainRequest,
  runId: string,
  renew: () => Promise<void>,
  note: (candidate: number | null, production: number | null) => void,
): Promise<RetrainResult> {
  const production = await currentProduction(deps.registry, req.model);
  note(null, production?.version ?? null);
  if (production && production.kind !== TEXT_CLASSIFIER_KIND) {
    throw new FerryError(
      ErrorCode.RETRAIN_UNSUPPORTED,
      `${production.name}/${production.version} is a ${production.kind} model; Ferry retrains the built-in text classifier only`,
      { details: { model: req.model, kind: production.kind } },
    );
  }
  const grid = req.tuneGrid === undefined ? undefined : GRIDS[req.tuneGrid];
  if (req.tuneGrid !== undefined && !grid) {
    throw new FerryError(ErrorCode.CLI_USAGE, `unknown tuning grid "${req.tuneGrid}"`);
  }
  // Data first: a dataset that fails validation stops the run before anything is trained or changed.
  const data = await deps.loadDataset(req.datasetLoc);
  const labeled = deps.feedback ? (await deps.feedback.labeled(req.model, {})).matched : [];
  const { dataset, use } = combineRows(data, labeled);
  await renew();

  const outcome = trainTextClassifier(dataset, {
    seed: req.seed,
    validationFraction: req.evalFraction ?? 0.2,
    tune: grid !== undefined,
    ...(grid ? { grid, folds: 3 } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });
  await renew();

  // The candidate is scored with its train-part model (outcome.validation), production as it is
  // served, both on the evaluation rows the candidate never saw.
  const evalRows = outcome.heldOut.rows;
  // Behavioural tests are fixed sentences, not rows: they judge the model that would be served.
  const candidateReport: EvaluationReport = {
    ...outcome.validation,
    behavioral: runBehavioralTests(outcome.model),
  };
  let productionReport: RetrainResult['production'] = null;
  if (production) {
    const { model } = await loadTextModel(deps.registry, `${production.name}/${production.version}`);
    const held = new Set(evalRows);
    const trainPart = dataset.rows.filter((r) => !held.has(r));
    productionReport = scoreProduction(
      production,
      model,
      data,
      trainPart,
      evalRows,
      deps.now?.() ?? new Date(),
    );
  }
  const decision = decideGate(
    {
      candidate: asGateInput(candidateReport),
      production: productionReport ? asGateInput(productionReport.evaluation) : null,
    },
    req.gate,
  );

  await renew();
  const version = await deps.registry.register(req.model, outcome.model.toArtifact(), {
    kind: outcome.model.kind,
    signature: textSignature(outcome.model.classes),
    params: { ...outcome.params },
    metrics: outcome.metrics,
    dataset: { ...outcome.dataset, baseSha256: data.sha256, feedbackRows: use.added },
    tags: {
      trainer: 'ferry retrain',
      retrain_run: runId,
      retrain_gate: decision.passed ? 'passed' : `refused (${decision.failedRule})`,
    },
    gitCommit: null,
  });
  note(version.version, null);
  await deps.onRegistered?.(version, outcome, dataset.rows);

  const result: RetrainResult = {
    runId,
    model: req.model,
    status: decision.passed ? 'passed' : 'refused',
    candidate: { version: version.version, evaluation: candidateReport },
    production: productionReport,
    decision,
    feedback: use,
    dataset: {
      source: dataset.source,
      rows: dataset.rows.length,
      trainRows: outcome.dataset.trainRows,
      evalRows: evalRows.length,
    },
    outcome: null,
  };
  if (!decision.passed) return result;
  return { ...result, outcome: await applyPolicy(deps, req, version.version, production, decision) };
}

async function applyPolicy(
  deps: RetrainDeps,
  req: RetrainRequest,
  version: number,
  production: ModelVersion | null,
  decision: GateDecision,
): Promise<PolicyOutcome> {
  const figures = `weighted F1 ${decision.figures.candidateF1.toFixed(4)}${
    decision.figures.productionF1 === null ? '' : ` vs ${decision.figures.productionF1.toFixed(4)}`
  } on ${decision.figures.evalRows} rows`;
  const reason = `retrain (${req.trigger}) passed the gate: ${figures}`;
  if (req.policy === 'promote') {
    await deps.registry.setAlias(req.model, PRODUCTION, version, reason);
    return { policy: 'promote', alias: PRODUCTION, version };
  }
  if (req.policy === 'canary' && production) {
    if (!deps.experiments) throw new Error('the canary policy needs the experiments API');
    const name = canaryName(req.model, version);
    await deps.experiments.create(
      {
        name,
        type: 'canary',
        model: req.model,
        arms: [
          { name: 'production', alias: PRODUCTION },
          { name: 'canary', version },
        ],
      },
      `ferry retrain (${req.trigger}): ${reason}`,
    );
    return { policy: 'canary', experiment: name, version };
  }
  await deps.registry.setAlias(req.model, 'staging', version, reason);
  // A canary needs a production arm: with none, the candidate waits in staging for a human.
  return req.policy === 'canary'
    ? {
        policy: 'staging',
        alias: 'staging',
        version,
        note: 'no production version to run a canary against: the candidate is in staging',
      }
    : { policy: 'staging', alias: 'staging', version };
}

/** An experiment name within EXPERIMENT_NAME's rule, unique per candidate version. */
function canaryName(model: string, version: number): string {
  const safe = model.replace(/[^A-Za-z0-9._-]/gu, '-').replace(/^[^A-Za-z0-9]+/u, '');
  return `retrain-${safe}`.slice(0, 80) + `-v${version}`;
}

/** Whether a version was trained on this dataset file (by `ferry train`, or by a retrain over it). */
function trainedOn(version: ModelVersion, data: Dataset): boolean {
  return version.dataset.sha256 === data.sha256 || version.dataset.baseSha256 === data.sha256;
}

function scoreProduction(
  production: ModelVersion,
  served: TextModel,
  data: Dataset,
  trainPart: readonly LabeledProject[],
  evalRows: readonly LabeledProject[],
  now: Date,
): NonNullable<RetrainResult['production']> {
  if (!trainedOn(production, data)) {
    // Trained on other data: scored as served. Rows it saw by chance in that data make the gate
    // stricter, never laxer.
    return {
      version: production.version,
      evaluation: evaluateModel(served, evalRows, now),
      scoredAs: 'served',
    };
  }
  // Feedback rows (line 0) are left out: production's recipe is refit on what it was trained on.
  const rows = trainPart.filter((r) => r.line > 0);
  const params: TextClassifierParams = {
    ...DEFAULT_PARAMS,
    ...(production.params as Partial<TextClassifierParams>),
  };
  const feats = featurize(
    rows,
    rows.map((r) => r.tag),
    params,
  );
  const { model } = TextClassifier.fitFeatures(feats, params);
  const evaluation = { ...evaluateModel(model, evalRows, now), behavioral: runBehavioralTests(served) };
  return { version: production.version, evaluation, scoredAs: 'refit' };
}
