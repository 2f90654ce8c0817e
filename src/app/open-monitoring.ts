import { formatOfPath, openBatchInput } from '../batch/job/inputs/open-input.js';
import { rowMappingFor } from '../batch/job/inputs/row-mapping.js';
import { type InputSpec, isReject, isTensorRow } from '../batch/job/types.js';
import type { FerryConfig } from '../core/config.js';
import { ErrorCode, FerryError } from '../core/errors.js';
import { onFirstUse } from '../core/on-first-use.js';
import { readSetting } from '../core/settings/read-settings.js';
import { isTextModel, type Model, type TextInput } from '../model/model.js';
import type { NamedTensors } from '../model/tensor.js';
import { textRow } from '../model/text-tensors.js';
import { AlertStore } from '../monitoring/alerts/alert-store.js';
import type { FeedbackSource } from '../monitoring/feedback-types.js';
import { buildProfile, textRows, vocabularyOf } from '../monitoring/profile/build-profile.js';
import { ReferenceProfileStore } from '../monitoring/profile/profile-store.js';
import type { ReferenceProfile } from '../monitoring/reference-profile.js';
import { buildDriftReport, type DriftReport, type DriftSettings } from '../monitoring/report/drift-report.js';
import type { ReportWindow } from '../monitoring/report/window.js';
import { columnDrift } from '../monitoring/stats/column-drift.js';
import { textDomainDrift } from '../monitoring/stats/domain-classifier.js';
import type { PredictionLogReader } from '../ports/prediction-log-reader.js';
import { kindContextOf, loadModel } from '../registry/load-model.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { ModelVersion } from '../registry/types.js';
import type { MonitoringRoutesDeps } from '../serving/http/routes/monitoring-routes.js';
import { SqlPredictionLog } from '../serving/prediction-log/sql-prediction-log.js';
import type { ServingConfig } from '../serving/serving-config.js';
import type { LabeledProject } from '../train/dataset.js';
import { loadLabeledDataset } from '../train/load-dataset.js';
import type { TrainOutcome } from '../train/pipeline.js';
import { openFeedbackStore } from './open-feedback.js';
import type { FerryContext } from './open-ferry.js';

/*
 * The wiring of drift monitoring: reference profiles made after training or from a data file, and
 * drift reports over the SQL prediction log, for the CLI and the server alike.
 */

/** The command that makes a missing profile, named in FERRY_MONITOR_NO_REFERENCE. */
function profileCommand(version: Pick<ModelVersion, 'name' | 'version'>): string {
  return `ferry monitor profile --model ${version.name}/${version.version} --data <file>`;
}

export interface MonitoringReports {
  readonly profiles: ReferenceProfileStore;
  /** The drift report of the version `ref` resolves to (NAME@ALIAS or NAME/VERSION) over `window`. */
  report(ref: string, window: ReportWindow, settings?: DriftSettings): Promise<DriftReport>;
}

/**
 * Opens the profile store (its migrations run) and binds the report to the log and, when given, the
 * feedback labels. The caller owns `sql`'s and the log's lifetime.
 */
export async function openMonitoring(deps: {
  readonly registry: ModelRegistry;
  readonly profiles: ReferenceProfileStore;
  readonly log: PredictionLogReader;
  readonly feedback?: FeedbackSource;
  readonly now?: () => Date;
}): Promise<MonitoringReports> {
  await deps.profiles.init();
  return {
    profiles: deps.profiles,
    async report(ref, window, settings) {
      const version = await deps.registry.resolve(ref);
      const reference = await deps.profiles.get(version.name, version.version);
      if (reference === undefined) {
        throw new FerryError(
          ErrorCode.MONITOR_NO_REFERENCE,
          `${version.name}/${version.version} has no reference profile to compare with; make one: ${profileCommand(version)}`,
          { details: { model: version.name, version: version.version } },
        );
      }
      return buildDriftReport(
        {
          log: deps.log,
          columnDrift,
          textDomainDrift,
          ...(deps.feedback !== undefined ? { feedback: deps.feedback } : {}),
          ...(deps.now !== undefined ? { now: deps.now } : {}),
        },
        { reference, window, ...(settings !== undefined ? { settings } : {}) },
      );
    },
  };
}

/**
 * The profile of a version `ferry train` just registered: its validation split, answered by the
 * train-part model (which never saw those rows, as live traffic is never seen: the registered model
 * was refit on them and would be overconfident on them), and the vocabulary of the train part (so
 * the reference's out-of-vocabulary rate is that of unseen text, like the window's).
 */
export async function profileTrainedVersion(
  profiles: ReferenceProfileStore,
  version: Pick<ModelVersion, 'name' | 'version'>,
  outcome: Pick<TrainOutcome, 'heldOut' | 'dataset'>,
  trainRows: readonly LabeledProject[],
): Promise<ReferenceProfile> {
  const held = new Set(outcome.heldOut.rows);
  const profile = await buildProfile({
    model: outcome.heldOut.model,
    name: version.name,
    version: version.version,
    rows: [textRows(outcome.heldOut.rows)],
    labels: outcome.heldOut.rows.map((r) => r.tag),
    vocabulary: vocabularyOf(trainRows.filter((r) => !held.has(r))),
    source: `the validation split of ${outcome.dataset.source} (${outcome.heldOut.rows.length} rows)`,
  });
  await profiles.put(profile);
  return profile;
}

export interface FileProfileResult {
  readonly profile: ReferenceProfile;
  readonly rejected: number;
}

/**
 * A profile made from a data file (`ferry monitor profile`), for any kind: the file is read with
 * the batch readers (CSV or JSONL, the model's inputs by column name, an id column), rows the batch
 * job would refuse are counted and left out. For a text model, the vocabulary is that of the
 * version's training data when it can still be read unchanged, else that of the file.
 */
export async function profileFromFile(
  ctx: {
    readonly registry: ModelRegistry;
    readonly profiles: ReferenceProfileStore;
    readonly config: FerryConfig;
  },
  ref: string,
  path: string,
  opts: { readonly idColumn?: string } = {},
): Promise<FileProfileResult> {
  const { version, model } = await loadModel(ctx.registry, ref, kindContextOf(ctx.config));
  try {
    const input = await openBatchInput(inputSpec(path, model, opts));
    let rejected = 0;
    const text = isTextModel(model);
    async function* batches(): AsyncGenerator<NamedTensors[]> {
      try {
        for await (const records of input.records()) {
          const rows: NamedTensors[] = [];
          for (const r of records) {
            if (isReject(r)) rejected++;
            else if (isTensorRow(r)) rows.push(r.tensors);
            else rows.push(textRow({ title: r.title, description: r.description }));
          }
          yield rows;
        }
      } finally {
        await input.close();
      }
    }
    const trained = text ? await trainingVocabulary(ctx.config, version) : undefined;
    // The vocabulary must be known before the rows are summarised: the file's own is read first.
    const vocabulary = text ? (trained ?? (await fileVocabulary(path, model, opts))) : undefined;
    const profile = await buildProfile({
      model,
      name: version.name,
      version: version.version,
      rows: batches(),
      source: `${path}${text && trained === undefined ? ' (vocabulary from the file: the training data could not be read)' : ''}`,
      ...(vocabulary !== undefined ? { vocabulary } : {}),
    });
    if (profile.rows === 0) {
      throw new FerryError(
        ErrorCode.MONITOR_INVALID,
        `${path} has no row the model can take (${rejected} refused)`,
        {
          details: { path, rejected },
        },
      );
    }
    await ctx.profiles.put(profile);
    return { profile, rejected };
  } finally {
    await model.close?.();
  }
}

function inputSpec(path: string, model: Model, opts: { readonly idColumn?: string }): InputSpec {
  return {
    kind: formatOfPath(path),
    path,
    mapping: rowMappingFor(model),
    ...(opts.idColumn !== undefined ? { idColumn: opts.idColumn } : {}),
  };
}

/** Rows of a data file read for its vocabulary when the training data is gone. */
const VOCABULARY_FALLBACK_ROWS = 1_000_000;

async function fileVocabulary(
  path: string,
  model: Model,
  opts: { readonly idColumn?: string },
): Promise<string[]> {
  const input = await openBatchInput(inputSpec(path, model, opts));
  const texts: TextInput[] = [];
  try {
    for await (const records of input.records()) {
      for (const r of records) {
        if (!isReject(r) && !isTensorRow(r) && texts.length < VOCABULARY_FALLBACK_ROWS)
          texts.push({ title: r.title, description: r.description });
      }
    }
  } finally {
    await input.close();
  }
  return vocabularyOf(texts);
}

/** The vocabulary of the data the version was trained on, when that file still reads with the same sha256. */
async function trainingVocabulary(config: FerryConfig, version: ModelVersion): Promise<string[] | undefined> {
  const { source, sha256 } = version.dataset;
  if (typeof source !== 'string' || typeof sha256 !== 'string') return undefined;
  try {
    // Bounded: a profile falls back to the file's vocabulary rather than wait on a slow download.
    const data = await loadLabeledDataset(source, { cacheDir: config.cacheDir, timeoutMs: 15_000 });
    return data.sha256 === sha256 ? vocabularyOf(data.rows) : undefined;
  } catch {
    return undefined;
  }
}

/** The reference profile store in the registry's database (its migrations run). */
export async function openProfileStore(ferry: Pick<FerryContext, 'sql'>): Promise<ReferenceProfileStore> {
  const store = new ReferenceProfileStore(ferry.sql);
  await store.init();
  return store;
}

/**
 * Monitoring as the CLI runs it: reports read the SQL prediction log in the registry's database.
 * A JSONL log is write-only, and with the log off there is nothing to read: FERRY_MONITOR_SOURCE.
 */
export async function openCliMonitoring(
  ferry: FerryContext,
  env: NodeJS.ProcessEnv = process.env,
): Promise<MonitoringReports> {
  const setting = readSetting(env, 'FERRY_PREDICTION_LOG');
  if (setting !== 'sql') {
    throw new FerryError(
      ErrorCode.MONITOR_SOURCE,
      setting === 'off'
        ? 'the prediction log is off (FERRY_PREDICTION_LOG=off): there is nothing to compare; serve with FERRY_PREDICTION_LOG=sql'
        : 'the prediction log is a JSONL directory (FERRY_PREDICTION_LOG=jsonl:…), which monitoring cannot query; serve with FERRY_PREDICTION_LOG=sql',
      { details: { predictionLog: setting === 'off' ? 'off' : 'jsonl' } },
    );
  }
  const log = new SqlPredictionLog(ferry.sql);
  await log.init();
  // Labels in the same database give the report its quality section (accuracy, weighted F1 per version).
  const feedback = await openFeedbackStore(ferry);
  return openMonitoring({
    registry: ferry.registry,
    profiles: new ReferenceProfileStore(ferry.sql),
    log,
    feedback,
  });
}

/**
 * GET /v1/monitoring/{model}'s dependencies: reports over the server's SQL log (FERRY_MONITOR_SOURCE
 * when the log is a JSONL directory or off), FERRY_MONITOR_TOKEN, the default window.
 */
export async function servingMonitoring(deps: {
  readonly ferry: FerryContext;
  readonly sc: Pick<ServingConfig, 'monitorToken' | 'predictionLog'>;
  readonly logReader: PredictionLogReader | undefined;
  /** Labels: the reports then show quality per version. */
  readonly feedback?: FeedbackSource;
  readonly env?: NodeJS.ProcessEnv;
}): Promise<MonitoringRoutesDeps> {
  const defaultWindowMs = readSetting(deps.env ?? process.env, 'FERRY_MONITOR_WINDOW_MS');
  const reader = deps.logReader;
  const monitoring =
    reader === undefined
      ? undefined
      : await openMonitoring({
          registry: deps.ferry.registry,
          profiles: new ReferenceProfileStore(deps.ferry.sql),
          log: reader,
          ...(deps.feedback !== undefined ? { feedback: deps.feedback } : {}),
        });
  // The alerts any monitor stored in this database (`serve --monitor`, `ferry monitor run`); the
  // tables are made on the first read, as `ferry monitor alerts` does.
  const alertStore = onFirstUse(async () => {
    const store = new AlertStore(deps.ferry.sql);
    await store.init();
    return store;
  });
  return {
    token: deps.sc.monitorToken,
    defaultWindowMs,
    alerts: async (model, opts) => (await alertStore.get()).list(model, opts),
    report: async (ref, window) => {
      if (monitoring === undefined) {
        throw new FerryError(
          ErrorCode.MONITOR_SOURCE,
          `this server's prediction log is ${deps.sc.predictionLog === 'off' ? 'off' : 'a JSONL directory'}; drift reports read FERRY_PREDICTION_LOG=sql`,
        );
      }
      return monitoring.report(ref, window);
    },
  };
}
