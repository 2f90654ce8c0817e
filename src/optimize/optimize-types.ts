import type { Model } from '../model/model.js';
import type { Signature } from '../model/tensor.js';
import type { LabeledProject } from '../train/dataset.js';

/*
 * The contracts of `ferry optimize` (issue 13), written before the parts that implement them:
 * methods and their options, what a method returns, and the measured report.
 */

export type OptimizeMethod = 'prune' | 'quantize' | 'distill';

export interface MagnitudePruneOptions {
  method: 'magnitude';
  /** Share of weights set to zero, in (0, 1): the smallest by absolute value. */
  sparsity: number;
  /** Refit the surviving weights on the training rows after pruning (zeros stay zero). */
  fineTune: boolean;
}

export interface StructuredPruneOptions {
  method: 'structured';
  /** Vocabulary features kept (the most important; the rest leave the vocabulary). */
  keepFeatures: number;
  fineTune: boolean;
}

export type PruneOptions = MagnitudePruneOptions | StructuredPruneOptions;

export interface QuantizeOptions {
  /** int8: weights as int8 with a scale per class, used as int8 at inference; float16: storage only. */
  dtype: 'int8' | 'float16';
}

/**
 * A student's features, parsed from `--student`:
 * - `word` / `word:1-2`: tf-idf over word n-grams (a vocabulary, no character n-grams);
 * - `hashed:2^18` / `hashed:262144` (optionally `:1-2` n-grams): the hashing trick, no vocabulary;
 * - `char:3-4`: character n-grams only.
 */
export type StudentSpec =
  | { type: 'word'; ngrams: [number, number] }
  | { type: 'hashed'; buckets: number; ngrams: [number, number] }
  | { type: 'char'; ngrams: [number, number] };

export interface DistillOptions {
  student: StudentSpec;
  /** Softening temperature of the teacher's (and student's) logits in training, > 0. */
  temperature: number;
  /** Weight of the true labels in [0, 1]; 1 - alpha goes to the teacher's soft labels. */
  alpha: number;
  /** Texts without labels: the teacher labels them (soft), the student learns from them. */
  unlabeled?: readonly { title: string; description: string }[];
}

/** Rows a method may train on (fine-tuning, distillation): never the evaluation rows. */
export interface TrainingRows {
  source: string;
  rows: readonly LabeledProject[];
}

/** What a method produced: a new artifact of a kind, ready to register. */
export interface OptimizedArtifact {
  kind: string;
  artifact: Uint8Array;
  /** Facts about the method's result (sparsity reached, features kept, student features...). */
  details: Record<string, unknown>;
}

/** The lineage stored in a variant's params (`params.lineage`) and shown by `ferry models show`. */
export interface OptimizeLineage {
  parent: { name: string; version: number };
  method: OptimizeMethod;
  options: Record<string, unknown>;
}

/** One row of the report: a model measured on the evaluation rows. */
export interface VariantMeasurement {
  /** `parent`, or the method (`prune magnitude 0.9`, `quantize int8`, ...). */
  label: string;
  /** `name/version` once registered; null for a variant not registered. */
  ref: string | null;
  kind: string;
  /** Bytes of the artifact as stored. */
  artifactBytes: number;
  /** Growth of the heap and array buffers when the model is loaded (median of runs). */
  memoryBytes: number;
  loadMs: number;
  /** One prediction at a time (batch 1), in milliseconds. */
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Throughput with batches of 256 rows. */
  predictionsPerSecond: number;
  /** Null when not measured: the model does not have the text contract (no label to score). */
  weightedF1: number | null;
  perClassF1: Record<string, number> | null;
  /**
   * Against the parent; null on the parent's own row and when either model lacks the text contract.
   * meanAbsProbabilityDiff is null when either has no `probabilities` over named classes.
   */
  agreement: { top1: number; meanAbsProbabilityDiff: number | null } | null;
  /** Why some figures are missing or how they were taken differently (e.g. on generated inputs). */
  note?: string;
}

export interface OptimizeReport {
  evalSet: {
    source: string;
    rows: number;
    /** True when the parent was trained on these rows (its F1 here is optimistic, said in the report). */
    seenInTraining: boolean;
  };
  parent: VariantMeasurement;
  variants: VariantMeasurement[];
}

/** What a method gets besides its options. */
export interface OptimizeContext {
  /** Rows for fine-tuning and distillation (the parent's training data minus the evaluation rows); null when none. */
  training: TrainingRows | null;
  seed: number;
  /** Where kinds may unpack files (KindContext.cacheDir). */
  cacheDir: string;
  /** Progress of long steps (fitting), for the CLI's bar. */
  onProgress?: (step: string, done: number, total: number) => void;
}

/**
 * The methods one model kind supports, on its artifact bytes. A kind without an entry (or without a
 * method) is answered FERRY_OPTIMIZE_UNSUPPORTED naming the kinds that have it. Distillation is not
 * here: any model whose signature is the text contract can teach (see distill.ts).
 */
export interface KindOptimizer {
  readonly kind: string;
  prune?(artifact: Uint8Array, opts: PruneOptions, ctx: OptimizeContext): Promise<OptimizedArtifact>;
  quantize?(artifact: Uint8Array, opts: QuantizeOptions, ctx: OptimizeContext): Promise<OptimizedArtifact>;
}

/**
 * Distillation: any model whose signature is the text contract (title, description in; label,
 * probabilities out) teaches; the student is a built-in text kind.
 */
export type Distill = (
  teacher: Model,
  training: TrainingRows,
  opts: DistillOptions,
  ctx: OptimizeContext,
) => Promise<OptimizedArtifact>;

/** The methods Ferry has, assembled in one place (app/) and handed to the orchestration. */
export interface Optimizers {
  readonly kinds: readonly KindOptimizer[];
  readonly distill: Distill;
}

/** The rows every model of a report is scored on. */
export interface EvalSet {
  source: string;
  rows: readonly LabeledProject[];
  /** True when the parent was trained on these rows. */
  seenInTraining: boolean;
}

/** A model to measure: its artifact as stored, opened by its kind. */
export interface MeasureCandidate {
  label: string;
  ref: string | null;
  kind: string;
  artifact: Uint8Array;
  signature: Signature | null;
}

/** Measures the parent and its variants on the same rows, the same way (report/measure.ts). */
export type MeasureReport = (
  parent: MeasureCandidate,
  variants: readonly MeasureCandidate[],
  evalSet: EvalSet,
) => Promise<OptimizeReport>;
