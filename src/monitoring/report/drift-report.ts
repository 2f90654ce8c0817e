import { ErrorCode, FerryError } from '../../core/errors.js';
import type { PredictionLogReader } from '../../ports/prediction-log-reader.js';
import { weightedMetrics } from '../../train/metrics.js';
import type {
  ColumnDrift,
  ColumnDriftFn,
  ColumnDriftOptions,
  DriftMethod,
  TextDrift,
  TextDriftFn,
} from '../drift-types.js';
import type { FeedbackSource } from '../feedback-types.js';
import { ObservationAccumulator, typesOf } from '../profile/accumulate.js';
import { observe, PREDICTED_LABEL } from '../profile/observe.js';
import type { FeatureSummary, ReferenceProfile } from '../reference-profile.js';
import { type DatasetDrift, datasetDrift } from '../stats/dataset-drift.js';
import { type Histogram, histogramOf } from './histograms.js';
import type { ReportWindow } from './window.js';

/** Records per page read from the log: bounded memory, few round trips. */
const PAGE_SIZE = 2000;
/** Evidently's default: the dataset drifts when at least half of its columns do. */
const DEFAULT_DRIFT_SHARE = 0.5;
const DEFAULT_SEED = 42;

const NUMERIC_METHODS: ReadonlySet<DriftMethod> = new Set(['ks', 'wasserstein', 'psi']);
const CATEGORICAL_METHODS: ReadonlySet<DriftMethod> = new Set([
  'chi-square',
  'z-test',
  'jensen-shannon',
  'psi',
]);

/** What a report may override; every default is the statistics' own (drift-types.ts). */
export interface DriftSettings {
  readonly numeric?: ColumnDriftOptions;
  readonly categorical?: ColumnDriftOptions;
  /** The domain classifier's ROC AUC threshold (default: the classifier's own). */
  readonly textThreshold?: number;
  /** Share of drifted input columns at which the dataset drifts (default 0.5). */
  readonly driftShare?: number;
  readonly seed?: number;
}

export interface DriftReportDeps {
  readonly log: PredictionLogReader;
  readonly columnDrift: ColumnDriftFn;
  readonly textDomainDrift: TextDriftFn;
  /** Delayed labels; when given, the report has a `quality` section. */
  readonly feedback?: FeedbackSource;
  readonly now?: () => Date;
}

interface SideStats {
  readonly count: number;
  readonly missing: number;
  readonly mean?: number;
  readonly std?: number;
  readonly min?: number;
  readonly max?: number;
}

export interface FeatureDrift {
  readonly name: string;
  readonly type: FeatureSummary['type'];
  /** Null when one side has no value of it (`note` says which). */
  readonly drift: ColumnDrift | null;
  readonly note?: string;
  readonly reference: SideStats;
  readonly current: SideStats;
  readonly histogram: Histogram | null;
}

export interface VersionQuality {
  readonly version: number;
  readonly labeled: number;
  readonly accuracy: number;
  /** Weighted F1 (scikit-learn's `average="weighted"`). */
  readonly f1: number;
}

export interface DriftReport {
  readonly schema: 1;
  readonly model: string;
  readonly version: number;
  /** `no-data`: no logged item in the window; the sections below are then empty, never NaN. */
  readonly status: 'ok' | 'no-data';
  readonly generatedAt: string;
  readonly window: ReportWindow;
  readonly reference: { readonly source: string; readonly rows: number; readonly createdAt: string };
  readonly counts: {
    /** Requests of this version logged in the window. */
    readonly requests: number;
    /** Items those requests carried. */
    readonly items: number;
    /** Items the log kept (fewer when the byte cap dropped some): what was analysed. */
    readonly analysed: number;
    readonly truncatedRequests: number;
  };
  readonly settings: {
    readonly numeric: ColumnDriftOptions;
    readonly categorical: ColumnDriftOptions;
    readonly textThreshold: number | null;
    readonly driftShare: number;
    readonly seed: number;
  };
  /** Inputs: text_length and token_count, or one per tensor column. */
  readonly features: readonly FeatureDrift[];
  /** Outputs: predicted_label and confidence (classifiers), else one per output column. */
  readonly outputs: readonly FeatureDrift[];
  readonly text: {
    readonly drift: TextDrift | null;
    readonly oovRate: { readonly reference: number; readonly current: number | null };
    readonly vocabularySize: number;
  } | null;
  /** Dataset-level drift over the inputs (the text included as one column). */
  readonly dataset: DatasetDrift;
  readonly quality: {
    readonly labeled: number;
    readonly unmatched: number;
    readonly versions: readonly VersionQuality[];
  } | null;
}

function invalid(message: string): FerryError {
  return new FerryError(ErrorCode.MONITOR_INVALID, message);
}

/** Refuses a method that does not fit the column type it was given for, before any work. */
function checkDriftSettings(settings: DriftSettings): void {
  const check = (opts: ColumnDriftOptions | undefined, allowed: ReadonlySet<DriftMethod>, what: string) => {
    if (opts?.method !== undefined && !allowed.has(opts.method))
      throw invalid(`${opts.method} is not a ${what} method; choose one of ${[...allowed].join(', ')}`);
    if (opts?.threshold !== undefined && !(Number.isFinite(opts.threshold) && opts.threshold > 0))
      throw invalid(`the ${what} threshold must be a positive number`);
  };
  check(settings.numeric, NUMERIC_METHODS, 'numeric');
  check(settings.categorical, CATEGORICAL_METHODS, 'categorical');
  const t = settings.textThreshold;
  if (t !== undefined && !(Number.isFinite(t) && t > 0.5 && t < 1))
    throw invalid('the text threshold (a ROC AUC) must be in (0.5, 1)');
  const s = settings.driftShare;
  if (s !== undefined && !(Number.isFinite(s) && s > 0 && s <= 1))
    throw invalid('the drift share must be in (0, 1]');
}

function sideStats(s: FeatureSummary): SideStats {
  if (s.type === 'categorical') return { count: s.count, missing: s.missing };
  return { count: s.count, missing: s.missing, mean: s.mean, std: s.std, min: s.min, max: s.max };
}

const EMPTY: Readonly<Record<FeatureSummary['type'], FeatureSummary>> = {
  numeric: { type: 'numeric', count: 0, missing: 0, sample: [], mean: 0, std: 0, min: 0, max: 0 },
  categorical: { type: 'categorical', count: 0, missing: 0, counts: {} },
};

function compare(
  reference: Readonly<Record<string, FeatureSummary>>,
  current: Readonly<Record<string, FeatureSummary>>,
  deps: DriftReportDeps,
  settings: DriftSettings,
): FeatureDrift[] {
  const out: FeatureDrift[] = [];
  for (const name of Object.keys(reference).sort()) {
    const ref = reference[name]!;
    const cur = current[name] ?? EMPTY[ref.type];
    const base = { name, type: ref.type, reference: sideStats(ref), current: sideStats(cur) };
    if (ref.count === 0 || cur.count === 0) {
      out.push({
        ...base,
        drift: null,
        note: ref.count === 0 ? 'the reference has no value of it' : 'no value of it in the window',
        histogram: null,
      });
      continue;
    }
    const opts = ref.type === 'numeric' ? settings.numeric : settings.categorical;
    out.push({ ...base, drift: deps.columnDrift(ref, cur, opts ?? {}), histogram: histogramOf(ref, cur) });
  }
  return out;
}

/**
 * Compares a window of the prediction log (one model version) with the version's reference profile:
 * the log is read page by page and each item summarised as it comes (bounded memory however many
 * predictions the window holds), then every feature is compared with the reference.
 */
export async function buildDriftReport(
  deps: DriftReportDeps,
  req: {
    readonly reference: ReferenceProfile;
    readonly window: ReportWindow;
    readonly settings?: DriftSettings;
  },
): Promise<DriftReport> {
  const { reference, window } = req;
  const settings = req.settings ?? {};
  checkDriftSettings(settings);
  const seed = settings.seed ?? DEFAULT_SEED;
  const vocabulary = reference.text ? new Set(reference.text.vocabulary) : undefined;
  const acc = new ObservationAccumulator({
    seed,
    featureTypes: typesOf(reference.features),
    outputTypes: typesOf(reference.outputs),
    ...(vocabulary !== undefined && vocabulary.size > 0 ? { vocabulary } : {}),
  });
  const classifier = PREDICTED_LABEL in reference.outputs;
  let requests = 0;
  let items = 0;
  let truncatedRequests = 0;
  let after: { at: string; requestId: string } | undefined;
  for (;;) {
    const page = await deps.log.read({
      model: reference.model,
      version: reference.version,
      since: window.since,
      until: window.until,
      limit: PAGE_SIZE,
      ...(after !== undefined ? { after } : {}),
    });
    for (const record of page.records) {
      requests++;
      items += record.itemCount;
      if (record.truncated) truncatedRequests++;
      for (const item of record.items) acc.add(observe(item, { classifier }));
    }
    if (page.next === null) break;
    after = page.next;
  }
  const current = acc.result();
  const noData = current.items === 0;
  const features = noData ? [] : compare(reference.features, current.features, deps, settings);
  const outputs = noData ? [] : compare(reference.outputs, current.outputs, deps, settings);

  let text: DriftReport['text'] = null;
  if (reference.text) {
    const currentTexts = current.text?.sample ?? [];
    const drift =
      noData || reference.text.sample.length === 0 || currentTexts.length === 0
        ? null
        : deps.textDomainDrift(reference.text.sample, currentTexts, {
            seed,
            ...(settings.textThreshold !== undefined ? { threshold: settings.textThreshold } : {}),
          });
    text = {
      drift,
      oovRate: {
        reference: reference.text.oovRate,
        current: noData ? null : (current.text?.oovRate ?? null),
      },
      vocabularySize: reference.text.vocabulary.length,
    };
  }

  // The text counts as one input column, judged by its domain classifier.
  const judged: ColumnDrift[] = features.flatMap((f) => (f.drift === null ? [] : [f.drift]));
  if (text?.drift && text.drift.noData !== true) {
    const d = text.drift;
    judged.push({
      method: d.method,
      score: d.rocAuc,
      threshold: d.threshold,
      drifted: d.drifted,
      referenceCount: d.referenceCount,
      currentCount: d.currentCount,
      psi: 0,
    });
  }
  const dataset = datasetDrift(judged, { driftShare: settings.driftShare ?? DEFAULT_DRIFT_SHARE });

  return {
    schema: 1,
    model: reference.model,
    version: reference.version,
    status: noData ? 'no-data' : 'ok',
    generatedAt: (deps.now?.() ?? new Date()).toISOString(),
    window,
    reference: { source: reference.source, rows: reference.rows, createdAt: reference.createdAt },
    counts: { requests, items, analysed: current.items, truncatedRequests },
    settings: {
      numeric: settings.numeric ?? {},
      categorical: settings.categorical ?? {},
      textThreshold: text?.drift?.threshold ?? settings.textThreshold ?? null,
      driftShare: dataset.threshold,
      seed,
    },
    features,
    outputs,
    text,
    dataset,
    quality: deps.feedback ? await qualityOf(deps.feedback, reference.model, window) : null,
  };
}

/** Accuracy and weighted F1 per version of the labels received in the window. */
async function qualityOf(
  feedback: FeedbackSource,
  model: string,
  window: ReportWindow,
): Promise<NonNullable<DriftReport['quality']>> {
  const labeled = await feedback.labeled(model, { since: window.since, until: window.until });
  const byVersion = new Map<number, { yTrue: string[]; yPred: string[] }>();
  for (const m of labeled.matched) {
    let v = byVersion.get(m.version);
    if (v === undefined) {
      v = { yTrue: [], yPred: [] };
      byVersion.set(m.version, v);
    }
    v.yTrue.push(m.label);
    // No answer to compare is a wrong answer, not a skipped one.
    v.yPred.push(m.predicted ?? '');
  }
  const versions = [...byVersion.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([version, { yTrue, yPred }]) => {
      const classes = [...new Set([...yTrue, ...yPred])].sort();
      const correct = yTrue.filter((t, i) => t === yPred[i]).length;
      return {
        version,
        labeled: yTrue.length,
        accuracy: correct / yTrue.length,
        f1: weightedMetrics(yTrue, yPred, classes).f1,
      };
    });
  return { labeled: labeled.matched.length, unmatched: labeled.unmatched, versions };
}
