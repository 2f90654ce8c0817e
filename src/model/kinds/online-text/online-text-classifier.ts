import { ErrorCode, FerryError } from '../../../core/errors.js';
import {
  boundedInteger,
  boundedNumber,
  boundedString,
  decodeNgramRange,
  invalidArtifact,
  isJsonObject,
  ownField,
} from '../../artifact-fields.js';
import type { Prediction, TextInput, TextModel } from '../../model.js';
import { TEXT_SIGNATURE } from '../../model.js';
import type { NamedTensors, Signature } from '../../tensor.js';
import { decodeFloat32, decodeInt32, encodeTensor } from '../../tensor-codec.js';
import { projectText, tokenize } from '../../text/clean.js';
import { textInputsOf, textOutputs } from '../../text-tensors.js';
import { HashedFeaturizer, type SparseVector } from './hashed-features.js';

export const ONLINE_TEXT_KIND = 'online-text-classifier';
const FORMAT_VERSION = 1;

/**
 * Hashed word and character n-grams, then a multinomial logistic regression trained one example at
 * a time by AdaGrad (a per-weight step `rate / sqrt(sum of that weight's squared gradients)`, so
 * rare n-grams keep large steps while frequent ones settle) with an L2 penalty applied lazily to
 * the weights a document touches. Why this learner: it is the incremental counterpart of the
 * built-in classifier (same features, same model family), its cost per update is
 * O(n-grams × classes) with no vocabulary to maintain, and AdaGrad needs no learning-rate schedule
 * on a stream whose length is unknown.
 *
 * Classes grow: a label never seen before is appended to `classes` with zero weights (its logit
 * starts at 0, so it is first predicted only once it has been learned). Outputs follow `classes`
 * order, so a snapshot taken after a new class has one more probability column; each snapshot is
 * registered as its own version with its own signature.
 *
 * Deterministic: no randomness; the same examples in the same order give the same bytes.
 */
export interface OnlineTextParams {
  /** Buckets: 2^bits per class. */
  readonly bits: number;
  readonly wordNgrams: readonly [number, number];
  readonly charNgrams: readonly [number, number];
  /** AdaGrad's base step. */
  readonly learningRate: number;
  /** L2 penalty per update on the touched weights. */
  readonly l2: number;
}

export const DEFAULT_ONLINE_PARAMS: OnlineTextParams = {
  bits: 18,
  wordNgrams: [1, 2],
  charNgrams: [3, 5],
  learningRate: 0.5,
  l2: 1e-6,
};

const MAX_BITS = 24;
const MIN_BITS = 4;
/** Each class costs 2 × 4 × 2^bits bytes (weights and AdaGrad sums): bounded. */
const MAX_ONLINE_CLASSES = 1000;
const MAX_LABEL_LENGTH = 256;

export interface LearnOutcome {
  /** What the model predicted before it learned the example (undefined while it knows no class). */
  readonly predicted: string | undefined;
  /** The probability of `predicted` before the update (what serving would have answered). */
  readonly confidence: number | undefined;
  /** True when the label was a new class. */
  readonly newClass: boolean;
}

export class OnlineTextClassifier implements TextModel {
  readonly kind = ONLINE_TEXT_KIND;
  readonly signature: Signature = TEXT_SIGNATURE;
  private readonly featurizer: HashedFeaturizer;
  private readonly classList: string[];
  private readonly classIndex = new Map<string, number>();
  /**
   * Weights and AdaGrad sums interleaved by bucket: [bucket][class][weight, sum]. A document's
   * update then reads one cache line per bucket for every class instead of 2K scattered ones (this
   * layout made updates ~2× faster than one array per class); a new class re-lays it out (rare).
   */
  private table: Float32Array;
  private readonly bias: number[];
  private readonly biasSums: number[];
  private scores: Float64Array;
  private updateCount: number;

  private constructor(
    readonly params: OnlineTextParams,
    state: {
      classes: string[];
      table: Float32Array;
      bias: number[];
      biasSums: number[];
      updates: number;
    },
  ) {
    this.featurizer = new HashedFeaturizer(params.bits, {
      wordNgrams: params.wordNgrams,
      charNgrams: params.charNgrams,
    });
    this.classList = state.classes;
    for (const [i, c] of state.classes.entries()) this.classIndex.set(c, i);
    this.table = state.table;
    this.bias = state.bias;
    this.biasSums = state.biasSums;
    this.scores = new Float64Array(Math.max(1, state.classes.length));
    this.updateCount = state.updates;
  }

  /** An empty learner (no class yet), or one that already knows `classes` in that order. */
  static create(
    params: Partial<OnlineTextParams> = {},
    classes: readonly string[] = [],
  ): OnlineTextClassifier {
    const p = checkParams({ ...DEFAULT_ONLINE_PARAMS, ...params });
    const model = new OnlineTextClassifier(p, {
      classes: [],
      table: new Float32Array(0),
      bias: [],
      biasSums: [],
      updates: 0,
    });
    for (const c of classes) model.addClass(c);
    return model;
  }

  /**
   * A model from weights fitted elsewhere (distillation fits them in one batch): `weights` holds
   * [buckets.length × classes] values for the bucket indices `buckets` (increasing); every other
   * bucket is zero. AdaGrad's sums start at zero, as for a served artifact.
   */
  static fromWeights(
    params: Partial<OnlineTextParams>,
    classes: readonly string[],
    fitted: { buckets: Int32Array; weights: Float32Array; bias: Float32Array; updates: number },
  ): OnlineTextClassifier {
    const model = OnlineTextClassifier.create(params, classes);
    const K = classes.length;
    const size = 1 << model.params.bits;
    if (fitted.weights.length !== fitted.buckets.length * K || fitted.bias.length !== K)
      throw new RangeError('weights must be buckets × classes and bias one per class');
    fitted.buckets.forEach((b, r) => {
      if (b < 0 || b >= size) throw new RangeError(`bucket ${b} is outside [0, 2^${model.params.bits})`);
      for (let c = 0; c < K; c++) model.table[b * 2 * K + 2 * c] = fitted.weights[r * K + c]!;
    });
    fitted.bias.forEach((v, c) => {
      model.bias[c] = v;
    });
    model.updateCount = fitted.updates;
    return model;
  }

  /** The weights of the buckets where some class has one (the inverse of fromWeights). */
  storedWeights(): { buckets: Int32Array; weights: Float32Array; bias: Float32Array; updates: number } {
    const K = this.classList.length;
    const size = 1 << this.params.bits;
    const used: number[] = [];
    for (let j = 0; j < size; j++) {
      for (let c = 0; c < K; c++) {
        if (this.table[j * 2 * K + 2 * c] !== 0) {
          used.push(j);
          break;
        }
      }
    }
    const weights = new Float32Array(used.length * K);
    used.forEach((j, r) => {
      for (let c = 0; c < K; c++) weights[r * K + c] = this.table[j * 2 * K + 2 * c]!;
    });
    return {
      buckets: Int32Array.from(used),
      weights,
      bias: Float32Array.from(this.bias),
      updates: this.updateCount,
    };
  }

  get classes(): readonly string[] {
    return this.classList;
  }

  /** Examples learned so far. */
  get updates(): number {
    return this.updateCount;
  }

  /** Appends a class with zero weights; returns its index (the existing one when known). */
  addClass(label: string): number {
    const known = this.classIndex.get(label);
    if (known !== undefined) return known;
    if (label.length === 0 || label.length > MAX_LABEL_LENGTH) {
      throw new FerryError(
        ErrorCode.LEARNER_INVALID,
        `a class label must have 1 to ${MAX_LABEL_LENGTH} characters`,
      );
    }
    if (this.classList.length >= MAX_ONLINE_CLASSES) {
      throw new FerryError(
        ErrorCode.LEARNER_INVALID,
        `an online classifier holds at most ${MAX_ONLINE_CLASSES} classes; refusing class ${JSON.stringify(label)}`,
      );
    }
    const size = 1 << this.params.bits;
    const K = this.classList.length;
    const grown = new Float32Array(size * 2 * (K + 1));
    for (let j = 0; j < size; j++)
      grown.set(this.table.subarray(j * 2 * K, (j + 1) * 2 * K), j * 2 * (K + 1));
    this.table = grown;
    this.classList.push(label);
    this.classIndex.set(label, K);
    this.bias.push(0);
    this.biasSums.push(0);
    this.scores = new Float64Array(this.classList.length);
    return this.classList.length - 1;
  }

  private vectorOf(input: TextInput): SparseVector {
    return this.featurizer.vectorize(tokenize(projectText(input.title, input.description)));
  }

  /** Softmax of the logits into this.scores; returns the argmax (-1 with no class). */
  private score(x: SparseVector): number {
    const K = this.classList.length;
    const { indices, values, length } = x;
    const scores = this.scores;
    const table = this.table;
    const stride = 2 * K;
    for (let c = 0; c < K; c++) scores[c] = this.bias[c]!;
    for (let i = 0; i < length; i++) {
      const base = indices[i]! * stride;
      const v = values[i]!;
      for (let c = 0; c < K; c++) scores[c]! += table[base + 2 * c]! * v;
    }
    let max = Number.NEGATIVE_INFINITY;
    let best = -1;
    for (let c = 0; c < K; c++) {
      if (scores[c]! > max) {
        max = scores[c]!;
        best = c;
      }
    }
    let total = 0;
    for (let c = 0; c < K; c++) {
      const e = Math.exp(scores[c]! - max);
      scores[c] = e;
      total += e;
    }
    for (let c = 0; c < K; c++) scores[c]! /= total;
    return best;
  }

  /**
   * Progressive validation in one pass: predicts the example, then learns it (one AdaGrad step on
   * the cross-entropy). A new label becomes a class first.
   */
  learnOne(input: TextInput, label: string): LearnOutcome {
    const x = this.vectorOf(input);
    const known = this.classIndex.get(label);
    const beforeBest = this.score(x);
    const predicted = beforeBest < 0 ? undefined : this.classList[beforeBest];
    const confidence = beforeBest < 0 ? undefined : this.scores[beforeBest];
    let y = known;
    if (y === undefined) {
      y = this.addClass(label);
      this.score(x);
    }
    const { learningRate: rate, l2 } = this.params;
    const { indices, values, length } = x;
    const K = this.classList.length;
    const stride = 2 * K;
    const table = this.table;
    const scores = this.scores;
    scores[y]! -= 1; // the gradient of the cross-entropy by the logits: p - onehot(y)
    for (let i = 0; i < length; i++) {
      const base = indices[i]! * stride;
      const v = values[i]!;
      for (let c = 0; c < K; c++) {
        const at = base + 2 * c;
        const w = table[at]!;
        const grad = scores[c]! * v + l2 * w;
        if (grad === 0) continue;
        const sum = table[at + 1]! + grad * grad;
        table[at + 1] = sum;
        table[at] = w - (rate * grad) / Math.sqrt(sum);
      }
    }
    for (let c = 0; c < K; c++) {
      const g = scores[c]!;
      if (g !== 0) {
        // Rounded to Float32 as the table is, so that a checkpoint restores the exact state.
        const sum = Math.fround(this.biasSums[c]! + g * g);
        this.biasSums[c] = sum;
        this.bias[c] = Math.fround(this.bias[c]! - (rate * g) / Math.sqrt(sum));
      }
    }
    this.updateCount++;
    return { predicted, confidence, newClass: known === undefined };
  }

  /** The top label, or undefined while no class is known. */
  predictLabel(input: TextInput): string | undefined {
    const best = this.score(this.vectorOf(input));
    return best < 0 ? undefined : this.classList[best];
  }

  predictBatch(rows: readonly TextInput[]): Prediction[] {
    return rows.map((row) => {
      const best = this.score(this.vectorOf(row));
      const probabilities: Record<string, number> = {};
      this.classList.forEach((c, k) => {
        probabilities[c] = this.scores[k]!;
      });
      return { prediction: best < 0 ? '' : this.classList[best]!, probabilities };
    });
  }

  async predict(rows: readonly TextInput[]): Promise<Prediction[]> {
    return this.predictBatch(rows);
  }

  async infer(inputs: NamedTensors): Promise<NamedTensors> {
    return textOutputs(this.classList, this.predictBatch(textInputsOf(inputs)));
  }

  /** The registry's artifact: the weights only (what serving needs). */
  toArtifact(): Uint8Array {
    return this.encode(false);
  }

  /** The learner's checkpoint: the weights and AdaGrad's sums (what learning on needs). */
  toCheckpoint(): Uint8Array {
    return this.encode(true);
  }

  /**
   * Sparse-aware: only buckets where some class has a non-zero weight are stored (a few percent of
   * 2^bits after thousands of texts), as their indices and a [buckets × classes] Float32 block,
   * base64 little-endian as every Ferry artifact tensor.
   */
  private encode(withOptimizerState: boolean): Uint8Array {
    const K = this.classList.length;
    const size = 1 << this.params.bits;
    const table = this.table;
    const used: number[] = [];
    for (let j = 0; j < size; j++) {
      for (let c = 0; c < K; c++) {
        const at = j * 2 * K + 2 * c;
        if (table[at] !== 0 || (withOptimizerState && table[at + 1] !== 0)) {
          used.push(j);
          break;
        }
      }
    }
    const block = (offset: 0 | 1) => {
      const out = new Float32Array(used.length * K);
      used.forEach((j, r) => {
        for (let c = 0; c < K; c++) out[r * K + c] = table[j * 2 * K + 2 * c + offset]!;
      });
      return encodeTensor(out);
    };
    const doc = {
      format: 'ferry-model',
      formatVersion: FORMAT_VERSION,
      kind: ONLINE_TEXT_KIND,
      classes: this.classList,
      params: this.params,
      updates: this.updateCount,
      tensors: {
        indices: encodeTensor(Int32Array.from(used)),
        weights: block(0),
        bias: encodeTensor(Float32Array.from(this.bias)),
        ...(withOptimizerState
          ? { sums: block(1), biasSums: encodeTensor(Float32Array.from(this.biasSums)) }
          : {}),
      },
    };
    return new TextEncoder().encode(JSON.stringify(doc));
  }

  /** Decodes an artifact or a checkpoint (own fields only, every size bounded before use). */
  static fromArtifactJson(doc: Record<string, unknown>): OnlineTextClassifier {
    const formatVersion = ownField(doc, 'formatVersion');
    if (formatVersion !== FORMAT_VERSION)
      throw invalidArtifact(`format version ${String(formatVersion)} is not ${FORMAT_VERSION}`);
    const params = decodeParams(ownField(doc, 'params'));
    const rawClasses = ownField(doc, 'classes');
    if (!Array.isArray(rawClasses) || rawClasses.length > MAX_ONLINE_CLASSES)
      throw invalidArtifact(`classes must be a list of at most ${MAX_ONLINE_CLASSES} labels`);
    const classes = rawClasses.map((c, i) => boundedString(c, `classes[${i}]`, MAX_LABEL_LENGTH));
    if (new Set(classes).size !== classes.length) throw invalidArtifact('classes repeat a label');
    const updates = boundedInteger(ownField(doc, 'updates'), 'updates', 0, Number.MAX_SAFE_INTEGER);
    const tensors = ownField(doc, 'tensors');
    const indices = decodeInt32(ownField(tensors, 'indices'), 'indices');
    const K = classes.length;
    const size = 1 << params.bits;
    for (let r = 0; r < indices.length; r++) {
      if (indices[r]! < 0 || indices[r]! >= size || (r > 0 && indices[r]! <= indices[r - 1]!))
        throw invalidArtifact('indices must increase within [0, 2^bits)');
    }
    const table = new Float32Array(size * 2 * K);
    const fill = (name: string, offset: 0 | 1): void => {
      const block = decodeFloat32(ownField(tensors, name), name);
      if (block.length !== indices.length * K)
        throw invalidArtifact(`${name} does not have buckets × classes values`);
      for (let r = 0; r < indices.length; r++) {
        for (let c = 0; c < K; c++) table[indices[r]! * 2 * K + 2 * c + offset] = block[r * K + c]!;
      }
    };
    const vector = (name: string): number[] => {
      const v = decodeFloat32(ownField(tensors, name), name);
      if (v.length !== K) throw invalidArtifact(`${name} must have one value per class`);
      return Array.from(v);
    };
    const hasSums = ownField(tensors, 'sums') !== undefined;
    fill('weights', 0);
    // A served artifact has no sums: learning on from it restarts AdaGrad's steps (large at first).
    if (hasSums) fill('sums', 1);
    return new OnlineTextClassifier(params, {
      classes,
      table,
      bias: vector('bias'),
      biasSums: hasSums ? vector('biasSums') : classes.map(() => 0),
      updates,
    });
  }
}

function decodeParams(value: unknown): OnlineTextParams {
  if (!isJsonObject(value)) throw invalidArtifact('params must be an object');
  return checkParams({
    bits: ownField(value, 'bits') as number,
    wordNgrams: decodeNgramRange(ownField(value, 'wordNgrams'), 'params.wordNgrams'),
    charNgrams: decodeNgramRange(ownField(value, 'charNgrams'), 'params.charNgrams'),
    learningRate: ownField(value, 'learningRate') as number,
    l2: ownField(value, 'l2') as number,
  });
}

function checkParams(p: OnlineTextParams): OnlineTextParams {
  const wordNgrams = decodeNgramRange(p.wordNgrams, 'params.wordNgrams');
  const charNgrams = decodeNgramRange(p.charNgrams, 'params.charNgrams');
  if (wordNgrams[1] === 0 && charNgrams[1] === 0) throw invalidArtifact('params turn every n-gram off');
  return {
    bits: boundedInteger(p.bits, 'params.bits', MIN_BITS, MAX_BITS),
    wordNgrams,
    charNgrams,
    learningRate: boundedNumber(p.learningRate, 'params.learningRate', Number.MIN_VALUE, 1e6),
    l2: boundedNumber(p.l2, 'params.l2', 0, 1e6),
  };
}
