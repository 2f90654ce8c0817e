import type { Progress } from '../core/progress.js';
import { silentProgress } from '../core/progress.js';
import {
  DEFAULT_PARAMS,
  featurize,
  TextClassifier,
  type TextClassifierParams,
} from '../model/text-classifier.js';
import { type Dataset, type DatasetFingerprint, fingerprint, type LabeledProject } from './dataset.js';
import { type EvaluationReport, evaluateModel } from './evaluate.js';
import { stratifiedSplit } from './split.js';
import { DEFAULT_GRID, type TuneGrid, type TuneResult, tune, tuneInWorkers } from './tune.js';

export interface TrainOptions {
  seed: number;
  /** Share of dataset.csv kept aside (stratified) to measure the chosen model. */
  validationFraction?: number;
  folds?: number;
  /** Cross-validate this grid on the training part; false trains `params` as given. */
  tune?: boolean;
  grid?: TuneGrid;
  params?: Partial<TextClassifierParams>;
  /** After measuring on the validation part, refit on all of dataset.csv (default true). */
  refitOnAll?: boolean;
  progress?: Progress;
  now?: () => Date;
}

export interface TrainOutcome {
  model: TextClassifier;
  params: TextClassifierParams;
  /** Flat numbers, stored with the version and compared by --promote. */
  metrics: Record<string, number>;
  validation: EvaluationReport;
  tuning: TuneResult | null;
  /**
   * The model fitted on the train part only and the validation rows it never saw: what `--promote`
   * scores the candidate and the current version on (the registered model was refit on those rows).
   */
  heldOut: { model: TextClassifier; rows: LabeledProject[] };
  dataset: DatasetFingerprint & {
    validationFraction: number;
    seed: number;
    trainRows: number;
    validationRows: number;
  };
}

/** The stratified split into the train and validation parts; the same for the sync and worker paths. */
function splitData(data: Dataset, opts: TrainOptions) {
  const validationFraction = opts.validationFraction ?? 0.2;
  const labels = data.rows.map((r) => r.tag);
  const split = stratifiedSplit(labels, validationFraction, opts.seed);
  const trainRows = split.train.map((i) => data.rows[i]!);
  const valRows = split.test.map((i) => data.rows[i]!);
  const base = { ...DEFAULT_PARAMS, ...opts.params };
  const tuneArgs = [
    trainRows,
    trainRows.map((r) => r.tag),
    base,
    opts.grid ?? DEFAULT_GRID,
    { folds: opts.folds ?? 5, seed: opts.seed, progress: opts.progress ?? silentProgress },
  ] as const;
  return { validationFraction, trainRows, valRows, base, tuneArgs };
}

/** Tunes (in this thread), fits and evaluates; `trainTextClassifierInWorkers` gives the same outcome. */
export function trainTextClassifier(data: Dataset, opts: TrainOptions): TrainOutcome {
  const prepared = splitData(data, opts);
  const started = performance.now();
  const tuning = opts.tune === false ? null : tune(...prepared.tuneArgs);
  return fitAndEvaluate(data, opts, prepared, tuning, (performance.now() - started) / 1000);
}

/**
 * `trainTextClassifier` with the cross-validation folds on worker threads (one per core): the same
 * params, scores and model bytes for the same data and seed, in about half the time on 2 cores.
 */
export async function trainTextClassifierInWorkers(
  data: Dataset,
  opts: TrainOptions & { threads?: number },
): Promise<TrainOutcome> {
  const prepared = splitData(data, opts);
  const started = performance.now();
  const [rows, labels, base, grid, tuneOpts] = prepared.tuneArgs;
  const tuning =
    opts.tune === false
      ? null
      : await tuneInWorkers(rows, labels, base, grid, {
          ...tuneOpts,
          ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
        });
  return fitAndEvaluate(data, opts, prepared, tuning, (performance.now() - started) / 1000);
}

function fitAndEvaluate(
  data: Dataset,
  opts: TrainOptions,
  { validationFraction, trainRows, valRows, base }: ReturnType<typeof splitData>,
  tuning: TuneResult | null,
  tuneSeconds: number,
): TrainOutcome {
  const progress = opts.progress ?? silentProgress;
  const params = tuning?.params ?? base;

  const fitStarted = performance.now();
  const fitOn = (rows: typeof trainRows, label: string) => {
    const feats = featurize(
      rows,
      rows.map((r) => r.tag),
      params,
    );
    progress.start(label, 1);
    const { model } = TextClassifier.fitFeatures(feats, params);
    progress.tick(1);
    progress.stop();
    return model;
  };
  const trainOnly = fitOn(trainRows, 'training');
  const validation = evaluateModel(trainOnly, valRows, opts.now?.() ?? new Date());
  const model = opts.refitOnAll === false ? trainOnly : fitOn(data.rows, 'refit on all rows');
  const fitSeconds = (performance.now() - fitStarted) / 1000;

  const metrics: Record<string, number> = {
    val_f1: validation.overall.f1,
    val_precision: validation.overall.precision,
    val_recall: validation.overall.recall,
    val_num_samples: validation.overall.num_samples,
    behavioral_passed: validation.behavioral.passed,
    behavioral_failed: validation.behavioral.failed,
    features: model.featureCount,
    tune_seconds: tuneSeconds,
    fit_seconds: fitSeconds,
  };
  if (tuning) metrics.cv_f1 = tuning.cvF1;
  return {
    model,
    params,
    metrics,
    validation,
    tuning,
    heldOut: { model: trainOnly, rows: valRows },
    dataset: {
      ...fingerprint(data),
      validationFraction,
      seed: opts.seed,
      trainRows: trainRows.length,
      validationRows: valRows.length,
    },
  };
}
