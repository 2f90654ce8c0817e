import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FsBlobStore } from '../../src/adapters/fs/fs-blob-store.js';
import { SqliteClient } from '../../src/adapters/sqlite/sqlite-client.js';
import { decodeModel } from '../../src/model/codec.js';
import { type KindContext, openModel, verifyArtifact } from '../../src/model/kinds/index.js';
import { DenseHead } from '../../src/model/linear-head.js';
import { isTextModel } from '../../src/model/model.js';
import { TEXT_CLASSIFIER_KIND, TextClassifier } from '../../src/model/text-classifier.js';
import type {
  EvalSet,
  KindOptimizer,
  MeasureCandidate,
  MeasureReport,
  OptimizeContext,
  OptimizedArtifact,
  VariantMeasurement,
} from '../../src/optimize/optimize-types.js';
import { ModelRegistry } from '../../src/registry/model-registry.js';
import { parseLabeledDataset } from '../../src/train/dataset.js';
import { readDatasetLocation } from '../../src/train/dataset-location.js';
import { weightedMetrics } from '../../src/train/metrics.js';
import { trainTextClassifier } from '../../src/train/pipeline.js';
import { registerTrained } from '../../src/train/register-trained.js';

/** A registry on a SQLite file and a blob directory, as the CLI opens it. */
export async function openTestRegistry(
  dir: string,
  ctx: KindContext,
): Promise<{ registry: ModelRegistry; close: () => Promise<void> }> {
  const sql = new SqliteClient({ path: join(dir, 'ferry.db') });
  await sql.init();
  const registry = new ModelRegistry({
    sql,
    blobs: new FsBlobStore(join(dir, 'blobs')),
    verifyArtifact: (bytes, version) => verifyArtifact(version.kind, bytes, ctx),
  });
  await registry.init();
  return { registry, close: () => sql.close() };
}

/** `ferry train`'s path on the sample dataset (copied into `dir`, the path its record names): tagifai@production. */
export async function trainParent(registry: ModelRegistry, dir: string) {
  const path = join(dir, 'dataset.csv');
  await copyFile('data/sample-dataset.csv', path);
  const data = parseLabeledDataset((await readDatasetLocation(path, { cacheDir: dir })).bytes, path);
  const outcome = trainTextClassifier(data, { seed: 7, tune: false });
  const { version } = await registerTrained(registry, outcome, {
    name: 'tagifai',
    promote: true,
    force: true,
    alias: 'production',
    gitCommit: null,
  });
  return { path, data, outcome, version };
}

/** What the test optimizer and measure saw, for assertions. */
export interface Seen {
  contexts: OptimizeContext[];
  evalSets: EvalSet[];
  candidates: MeasureCandidate[][];
}

export function newSeen(): Seen {
  return { contexts: [], evalSets: [], candidates: [] };
}

/** A real method: the weights rounded to 2 decimals, a loadable text-classifier artifact. */
function roundWeights(artifact: Uint8Array): OptimizedArtifact {
  const model = decodeModel(artifact) as TextClassifier;
  const weights = Float32Array.from(model.head.denseWeights(), (w) => Math.round(w * 100) / 100);
  const rounded = new TextClassifier(
    model.params,
    model.classes,
    model.tfidf,
    new DenseHead(weights, model.head.bias),
  );
  return { kind: TEXT_CLASSIFIER_KIND, artifact: rounded.toArtifact(), details: { decimals: 2 } };
}

export function roundingOptimizer(seen: Seen): KindOptimizer {
  return {
    kind: TEXT_CLASSIFIER_KIND,
    prune: async (artifact, _opts, ctx) => {
      seen.contexts.push(ctx);
      return roundWeights(artifact);
    },
    quantize: async (artifact, _opts, ctx) => {
      seen.contexts.push(ctx);
      return roundWeights(artifact);
    },
  };
}

/** Weighted F1 and agreement measured for real on the evaluation rows; timings left at zero. */
export function simpleMeasure(seen: Seen, ctx: KindContext): MeasureReport {
  return async (parent, variants, evalSet) => {
    seen.evalSets.push(evalSet);
    seen.candidates.push([parent, ...variants]);
    const yTrue = evalSet.rows.map((r) => r.tag);
    const predict = async (c: MeasureCandidate) => {
      const model = await openModel(c.kind, c.artifact, { ...ctx, sha256: '' });
      if (!isTextModel(model)) throw new Error('the test measure opens text models only');
      return model.predictBatch(evalSet.rows).map((p) => p.prediction);
    };
    const parentPredictions = await predict(parent);
    const row = async (
      c: MeasureCandidate,
      predictions: string[],
      isParent: boolean,
    ): Promise<VariantMeasurement> => ({
      label: c.label,
      ref: c.ref,
      kind: c.kind,
      artifactBytes: c.artifact.byteLength,
      memoryBytes: 0,
      loadMs: 0,
      latencyP50Ms: 0,
      latencyP99Ms: 0,
      predictionsPerSecond: 0,
      weightedF1: weightedMetrics(yTrue, predictions, [...new Set(yTrue)].sort()).f1,
      perClassF1: {},
      agreement: isParent
        ? null
        : {
            top1: predictions.filter((p, i) => p === parentPredictions[i]).length / predictions.length,
            meanAbsProbabilityDiff: 0,
          },
    });
    return {
      evalSet: { source: evalSet.source, rows: evalSet.rows.length, seenInTraining: evalSet.seenInTraining },
      parent: await row(parent, parentPredictions, true),
      variants: await Promise.all(variants.map(async (v) => row(v, await predict(v), false))),
    };
  };
}
