import { ErrorCode, FerryError } from '../core/errors.js';
import { type KindContext, kindLabel, modelKind, openModel } from '../model/kinds/index.js';
import type { Model } from '../model/model.js';
import type { Signature } from '../model/tensor.js';
import { assertAlias } from '../registry/model-ref.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { ModelVersion } from '../registry/types.js';
import {
  chooseEvalSet,
  type ReadData,
  sawValidationRows,
  trainingRowsFor,
  unlabeledTexts,
} from './eval-set.js';
import { checkDistill, checkPrune, invalidOption, variantLabel } from './optimize-options.js';
import type {
  DistillOptions,
  MeasureCandidate,
  MeasureReport,
  OptimizeContext,
  OptimizedArtifact,
  OptimizeLineage,
  OptimizeMethod,
  OptimizeReport,
  Optimizers,
  PruneOptions,
  QuantizeOptions,
  TrainingRows,
} from './optimize-types.js';

export interface OptimizeDeps {
  registry: ModelRegistry;
  optimizers: Optimizers;
  measure: MeasureReport;
  /** How kinds open and inspect artifacts (kindContextOf(config)). */
  kindContext: KindContext;
  /** Reads --eval-loc, --data-loc, --unlabeled-loc and the parent's training file. */
  readData: ReadData;
  gitCommit?: string | null;
  onProgress?: OptimizeContext['onProgress'];
}

export type OptimizeRequest = {
  /** `name@alias` or `name/version` (a bare name is `name@production`). */
  model: string;
  /** Moved to the new version only when given. */
  alias?: string;
  evalLoc?: string;
  dataLoc?: string;
  seed: number;
  /** Also measure the parent's earlier variants (versions whose lineage names it), newest first, at most MAX_COMPARED. */
  compare?: boolean;
} & (
  | { method: 'prune'; options: PruneOptions }
  | { method: 'quantize'; options: QuantizeOptions }
  | { method: 'distill'; options: Omit<DistillOptions, 'unlabeled'>; unlabeledLoc?: string }
);

export interface OptimizeResult {
  parent: ModelVersion;
  variant: ModelVersion;
  report: OptimizeReport;
}

const ref = (v: { name: string; version: number }) => `${v.name}/${v.version}`;

/**
 * `ferry optimize`: resolves the parent, picks the evaluation rows (and the training rows, without
 * them), runs the method, measures the parent and the variant on the same rows, then registers the
 * variant as a new version of the parent's model with its lineage. Everything that can fail runs
 * before the registration, so a failure registers nothing; the alias moves only when asked.
 */
export async function runOptimize(deps: OptimizeDeps, req: OptimizeRequest): Promise<OptimizeResult> {
  if (req.method === 'prune') checkPrune(req.options);
  if (req.method === 'distill') checkDistill(req.options);
  if (req.alias !== undefined) assertAlias(req.alias);
  const { version: parent, bytes } = await deps.registry.loadArtifact(req.model);
  // Refused before any data is read: the kind's optimizer, or the teacher's contract.
  const kindOptimizer =
    req.method === 'distill' ? null : kindOptimizerFor(deps.optimizers, parent, req.method);
  const model = await openModel(parent.kind, bytes, {
    ...deps.kindContext,
    signature: parent.signature ?? undefined,
    sha256: parent.artifactSha256,
  });
  try {
    if (req.method === 'distill') assertTextContract(parent, model);
    const choice = await chooseEvalSet(parent, model.classes, req.evalLoc, deps.readData);
    const needsRows = req.method === 'distill' || (req.method === 'prune' && req.options.fineTune);
    const training = needsRows
      ? await trainingRowsFor(parent, model.classes, choice, req.dataLoc, deps.readData)
      : null;
    const ctx: OptimizeContext = {
      training,
      seed: req.seed,
      cacheDir: deps.kindContext.cacheDir,
      ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
    };
    let produced: OptimizedArtifact;
    let unlabeled: { source: string; rows: number; dropped: number } | null = null;
    if (req.method === 'distill') {
      const rows = requireRows(training, parent, 'distill');
      const extra = req.unlabeledLoc
        ? await unlabeledTexts(req.unlabeledLoc, choice.evalSet.rows, deps.readData)
        : null;
      if (extra) unlabeled = { source: extra.source, rows: extra.texts.length, dropped: extra.dropped };
      const options: DistillOptions = { ...req.options, ...(extra ? { unlabeled: extra.texts } : {}) };
      produced = await deps.optimizers.distill(model, rows, options, ctx);
    } else if (req.method === 'prune') {
      if (req.options.fineTune) requireRows(training, parent, 'prune --fine-tune');
      produced = await callMethod(kindOptimizer?.prune, parent, 'prune')(bytes, req.options, ctx);
    } else {
      produced = await callMethod(kindOptimizer?.quantize, parent, 'quantize')(bytes, req.options, ctx);
    }

    const inspected = await modelKind(produced.kind).inspect(produced.artifact, deps.kindContext);
    const label = variantLabel(req.method, { ...req.options });
    const earlier = req.compare ? await earlierVariants(deps.registry, parent) : [];
    const measured = await deps.measure(
      { label: 'parent', ref: ref(parent), kind: parent.kind, artifact: bytes, signature: parent.signature },
      [
        {
          label,
          ref: null,
          kind: modelKind(produced.kind).kind,
          artifact: produced.artifact,
          signature: inspected.signature,
        },
        ...earlier,
      ],
      choice.evalSet,
    );
    const lineage: OptimizeLineage = {
      parent: { name: parent.name, version: parent.version },
      method: req.method,
      options: lineageOptions(req.options),
    };
    const sameRecipe =
      modelKind(produced.kind).kind === modelKind(parent.kind).kind && req.method !== 'distill';
    const variant = await deps.registry.register(parent.name, produced.artifact, {
      kind: modelKind(produced.kind).kind,
      signature: inspected.signature,
      // Pruned and quantized weights keep the parent's recipe (what a retrain refits); a student has its own.
      params: {
        ...(sameRecipe ? withoutLineage(parent.params) : {}),
        ...(inspected.details ?? {}),
        optimization: produced.details,
        lineage,
      },
      metrics: reportMetrics(measured),
      dataset: {
        ...parent.dataset,
        // A student never saw the rows it was measured on; pruned or quantized weights are the parent's.
        validationRowsSeen: req.method === 'distill' ? req.evalLoc !== undefined : sawValidationRows(parent),
        optimize: {
          evaluation: { source: choice.evalSet.source, rows: choice.evalSet.rows.length },
          training: training ? { source: training.source, rows: training.rows.length } : null,
          unlabeled,
        },
      },
      tags: { optimized_from: ref(parent), optimize_method: req.method },
      gitCommit: deps.gitCommit ?? null,
    });
    const report = withVariantRef(measured, ref(variant));
    if (req.alias === undefined) return { parent, variant, report };
    await deps.registry.setAlias(variant.name, req.alias, variant.version, `ferry optimize ${req.method}`);
    return { parent, variant: { ...variant, aliases: [...variant.aliases, req.alias].sort() }, report };
  } finally {
    await model.close?.();
  }
}

/** The most earlier variants `--compare` measures beside the new one (each is loaded and timed). */
const MAX_COMPARED = 8;

/** Versions of the parent's model whose lineage names the parent, newest first, as report candidates. */
async function earlierVariants(registry: ModelRegistry, parent: ModelVersion): Promise<MeasureCandidate[]> {
  const children = (await registry.list(parent.name))
    .filter((v) => {
      const p = (v.params.lineage as OptimizeLineage | undefined)?.parent;
      return p?.name === parent.name && p.version === parent.version;
    })
    .sort((a, b) => b.version - a.version)
    .slice(0, MAX_COMPARED);
  const out: MeasureCandidate[] = [];
  for (const v of children) {
    const lineage = v.params.lineage as OptimizeLineage;
    const { bytes } = await registry.loadArtifact(ref(v));
    out.push({
      label: `${variantLabel(lineage.method, lineage.options)} (earlier)`,
      ref: ref(v),
      kind: v.kind,
      artifact: bytes,
      signature: v.signature,
    });
  }
  return out;
}

function kindOptimizerFor(optimizers: Optimizers, parent: ModelVersion, method: 'prune' | 'quantize') {
  const found = optimizers.kinds.find((k) => kindLabel(k.kind) === kindLabel(parent.kind));
  if (found?.[method]) return found;
  throw unsupported(parent, method, supportingKinds(optimizers, method));
}

function supportingKinds(optimizers: Optimizers, method: 'prune' | 'quantize'): string[] {
  return optimizers.kinds.filter((k) => k[method] !== undefined).map((k) => kindLabel(k.kind));
}

function unsupported(parent: ModelVersion, method: OptimizeMethod, kinds: readonly string[]): FerryError {
  const which = kinds.length > 0 ? `kinds that support it: ${kinds.join(', ')}` : 'no kind supports it yet';
  return new FerryError(
    ErrorCode.OPTIMIZE_UNSUPPORTED,
    `${ref(parent)} is a ${kindLabel(parent.kind)} model, which cannot ${method}; ${which}`,
    { details: { model: ref(parent), kind: parent.kind, method, supportedKinds: [...kinds] } },
  );
}

function callMethod<F>(fn: F | undefined, parent: ModelVersion, method: 'prune' | 'quantize'): F {
  if (fn === undefined) throw unsupported(parent, method, []);
  return fn;
}

/** Title and description in, probabilities (one column per class) out: what a student can learn from. */
function assertTextContract(parent: ModelVersion, model: Model): void {
  const s: Signature = model.signature;
  const input = (name: string) => s.inputs.some((t) => t.name === name && t.datatype === 'BYTES');
  const probabilities = s.outputs.some((t) => t.name === 'probabilities' && t.datatype === 'FP32');
  if (input('title') && input('description') && probabilities && model.classes.length > 0) return;
  throw new FerryError(
    ErrorCode.OPTIMIZE_UNSUPPORTED,
    `${ref(parent)} (${kindLabel(parent.kind)}) cannot teach: distillation needs the text contract ` +
      '(title and description BYTES in, probabilities FP32 out, named classes)',
    { details: { model: ref(parent), kind: parent.kind, method: 'distill' } },
  );
}

function requireRows(training: TrainingRows | null, parent: ModelVersion, what: string): TrainingRows {
  if (training !== null) return training;
  throw invalidOption(
    `${what} needs labeled training rows: ${ref(parent)} records no training file; pass --data-loc <labeled csv>`,
    { model: ref(parent) },
  );
}

/** Options as stored: plain JSON (a student spec is already plain). */
function lineageOptions(options: object): Record<string, unknown> {
  return JSON.parse(JSON.stringify(options)) as Record<string, unknown>;
}

function withoutLineage(params: Record<string, unknown>): Record<string, unknown> {
  const { lineage: _lineage, optimization: _optimization, ...rest } = params;
  return rest;
}

/** A few figures of the report kept with the version (versions are immutable: measured before registering). */
function reportMetrics(report: OptimizeReport): Record<string, unknown> {
  const v = report.variants[0];
  if (v === undefined) return {};
  return {
    eval_weighted_f1: v.weightedF1,
    parent_eval_weighted_f1: report.parent.weightedF1,
    eval_rows: report.evalSet.rows,
    eval_seen_in_training: report.evalSet.seenInTraining,
    agreement_top1: v.agreement?.top1 ?? null,
    artifact_bytes: v.artifactBytes,
    parent_artifact_bytes: report.parent.artifactBytes,
    latency_p50_ms: v.latencyP50Ms,
    predictions_per_second: v.predictionsPerSecond,
  };
}

function withVariantRef(report: OptimizeReport, variantRef: string): OptimizeReport {
  return { ...report, variants: report.variants.map((v, i) => (i === 0 ? { ...v, ref: variantRef } : v)) };
}
