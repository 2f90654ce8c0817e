import { gzipSync } from 'node:zlib';
import { ErrorCode, FerryError } from '../core/errors.js';
import {
  boundedInteger,
  boundedNumber,
  boundedString,
  decodeNgramRange,
  invalidArtifact,
  isJsonObject,
  ownField,
} from './artifact-fields.js';
import { DenseHead, headProbabilities, type LinearHead } from './linear-head.js';
import type { Prediction, TextInput, TextModel } from './model.js';
import { TEXT_SIGNATURE } from './model.js';
import { fitSoftmaxRegression } from './softmax-regression.js';
import { type CsrMatrix, csrFromRows, type SparseVector } from './sparse.js';
import type { NamedTensors, Signature } from './tensor.js';
import { decodeFloat32, decodeInt32, encodeTensor } from './tensor-codec.js';
import { projectText, tokenize } from './text/clean.js';
import { decodeV2Body, encodeV2Body } from './text-artifact-v2.js';
import { textInputsOf, textOutputs } from './text-tensors.js';
import { fitTfidf, type TfidfOptions, type TfidfState, TfidfTransformer } from './tfidf.js';

export const TEXT_CLASSIFIER_KIND = 'ferry.text-classifier.tfidf-logreg';
/** Version 1: a dense float32 head. Version 2 (text-artifact-v2.ts, gzipped): the optimized heads. */
const FORMAT_VERSION = 1;
const COMPACT_FORMAT_VERSION = 2;

export interface TextClassifierParams {
  wordNgrams: [number, number];
  charNgrams: [number, number];
  minDf: number;
  sublinearTf: boolean;
  /** Normalise word and character blocks separately (see TfidfOptions). */
  normalizeBlocks: boolean;
  /** Inverse regularisation strength of the logistic regression (scikit-learn's C). */
  C: number;
  classWeight: 'none' | 'balanced';
  /** The course's fallback: predict `otherLabel` when the top probability is below this (0 = off). */
  otherThreshold: number;
  otherLabel: string;
}

export const DEFAULT_PARAMS: TextClassifierParams = {
  wordNgrams: [1, 2],
  charNgrams: [3, 5],
  minDf: 2,
  sublinearTf: true,
  normalizeBlocks: true,
  C: 30,
  classWeight: 'balanced',
  otherThreshold: 0,
  otherLabel: 'other',
};

export interface FitOptions {
  onIteration?: (iteration: number, loss: number) => void;
  maxIterations?: number;
  /** The solver's stopping rule (see DEFAULT_GRADIENT_TOLERANCE). */
  gradientTolerance?: number;
}

/** Training features: the fitted vocabulary and the training matrix, reusable across values of C. */
export interface Featurized {
  classes: string[];
  tfidf: TfidfState;
  X: CsrMatrix;
  y: Int32Array;
}

/** The tf-idf options among a classifier's parameters (training and distilled students share them). */
export function tfidfOptionsOf(
  params: Pick<
    TextClassifierParams,
    'wordNgrams' | 'charNgrams' | 'minDf' | 'sublinearTf' | 'normalizeBlocks'
  >,
): TfidfOptions {
  const { wordNgrams, charNgrams, minDf, sublinearTf, normalizeBlocks } = params;
  return { wordNgrams, charNgrams, minDf, sublinearTf, normalizeBlocks };
}

export function featurize(
  inputs: readonly TextInput[],
  labels: readonly string[],
  params: Pick<
    TextClassifierParams,
    'wordNgrams' | 'charNgrams' | 'minDf' | 'sublinearTf' | 'normalizeBlocks'
  >,
  classes: readonly string[] = [...new Set(labels)].sort(),
): Featurized {
  if (classes.length < 2) {
    throw new FerryError(
      ErrorCode.DATA_TOO_SMALL,
      `training needs at least 2 classes, got ${classes.length}`,
    );
  }
  const docs = inputs.map((r) => tokenize(projectText(r.title, r.description)));
  const tfidf = fitTfidf(docs, tfidfOptionsOf(params));
  const transformer = new TfidfTransformer(tfidf);
  const X = csrFromRows(
    docs.map((d) => transformer.transform(d)),
    transformer.size,
  );
  return { classes: [...classes], tfidf, X, y: Int32Array.from(labels, (l) => classes.indexOf(l)) };
}

function classWeights(y: Int32Array, k: number, mode: TextClassifierParams['classWeight']): Float64Array {
  const weights = new Float64Array(k).fill(1);
  if (mode !== 'balanced') return weights;
  const counts = new Float64Array(k);
  for (const label of y) counts[label]! += 1;
  for (let c = 0; c < k; c++) weights[c] = counts[c]! > 0 ? y.length / (k * counts[c]!) : 0;
  return weights;
}

/** TF-IDF over word and character n-grams, then a multinomial logistic regression. */
export class TextClassifier implements TextModel {
  readonly kind = TEXT_CLASSIFIER_KIND;
  readonly signature: Signature = TEXT_SIGNATURE;
  private readonly transformer: TfidfTransformer;
  private readonly scratch: Float64Array;

  constructor(
    readonly params: TextClassifierParams,
    readonly classes: readonly string[],
    readonly tfidf: TfidfState,
    readonly head: LinearHead,
  ) {
    this.transformer = new TfidfTransformer(tfidf);
    this.scratch = new Float64Array(classes.length);
  }

  get featureCount(): number {
    return this.tfidf.hashes.length;
  }

  static fit(
    inputs: readonly TextInput[],
    labels: readonly string[],
    params: TextClassifierParams,
    options: FitOptions = {},
  ): TextClassifier {
    return TextClassifier.fitFeatures(featurize(inputs, labels, params), params, options).model;
  }

  /**
   * Fits the regression on features made once by `featurize`; `init` warm-starts from a previous fit
   * (a grid over C reuses the features and the solution of the previous C). Returns the raw
   * parameters too, for the next warm start.
   */
  static fitFeatures(
    f: Featurized,
    params: TextClassifierParams,
    options: FitOptions & { init?: Float64Array } = {},
  ): { model: TextClassifier; theta: Float64Array; iterations: number } {
    const fit = fitSoftmaxRegression(f.X, f.y, f.classes.length, {
      C: params.C,
      classWeights: classWeights(f.y, f.classes.length, params.classWeight),
      ...(options.init ? { init: options.init } : {}),
      ...(options.maxIterations ? { maxIterations: options.maxIterations } : {}),
      ...(options.gradientTolerance ? { gradientTolerance: options.gradientTolerance } : {}),
      ...(options.onIteration ? { onIteration: options.onIteration } : {}),
    });
    return {
      model: TextClassifier.fromTheta(f, params, fit.theta),
      theta: fit.theta,
      iterations: fit.iterations,
    };
  }

  /**
   * The model of a fit's raw parameters on these features: what `fitFeatures` returns, for a fit that
   * ran elsewhere (a worker thread fits on the same features, made by the same deterministic
   * `featurize`, and sends back only `theta`).
   */
  static fromTheta(f: Featurized, params: TextClassifierParams, theta: Float64Array): TextClassifier {
    const biasAt = f.X.cols * f.classes.length;
    if (theta.length !== biasAt + f.classes.length)
      throw new RangeError(
        `theta has ${theta.length} values, the features need ${biasAt + f.classes.length}`,
      );
    return new TextClassifier(
      params,
      f.classes,
      f.tfidf,
      new DenseHead(Float32Array.from(theta.subarray(0, biasAt)), Float32Array.from(theta.subarray(biasAt))),
    );
  }

  /** The item's tf-idf features (indices into the vocabulary, values): what the head sees. */
  features(input: TextInput): SparseVector {
    return this.transformer.transformText(projectText(input.title, input.description));
  }

  /** Probabilities in `classes` order, written into a fresh array. */
  probabilities(input: TextInput): Float64Array {
    this.probabilitiesIntoScratch(input);
    return Float64Array.from(this.scratch);
  }

  /** The item's probabilities into `scratch`, through the transformer's reusable arrays. */
  private probabilitiesIntoScratch(input: TextInput): void {
    const t = this.transformer;
    const nnz = t.vectorizeText(projectText(input.title, input.description));
    headProbabilities(this.head, t.indices, t.values, this.scratch, nnz);
  }

  /** The label the course's custom_predict gives: argmax, or `otherLabel` when not confident enough. */
  decide(probs: Float64Array): string {
    let best = 0;
    for (let c = 1; c < probs.length; c++) if (probs[c]! > probs[best]!) best = c;
    if (probs[best]! < this.params.otherThreshold && this.classes.includes(this.params.otherLabel)) {
      return this.params.otherLabel;
    }
    return this.classes[best]!;
  }

  predictBatch(rows: readonly TextInput[]): Prediction[] {
    const out: Prediction[] = new Array(rows.length);
    for (let r = 0; r < rows.length; r++) {
      // The probabilities are read straight from the scratch array: no copy per row.
      this.probabilitiesIntoScratch(rows[r]!);
      const probabilities: Record<string, number> = {};
      for (let k = 0; k < this.classes.length; k++) probabilities[this.classes[k]!] = this.scratch[k]!;
      out[r] = { prediction: this.decide(this.scratch), probabilities };
    }
    return out;
  }

  async predict(rows: readonly TextInput[]): Promise<Prediction[]> {
    return this.predictBatch(rows);
  }

  /** The tensor contract: `title` and `description` BYTES [n] in, `label` BYTES [n] and `probabilities` FP32 [n, classes] out. */
  async infer(inputs: NamedTensors): Promise<NamedTensors> {
    return textOutputs(this.classes, this.predictBatch(textInputsOf(inputs)));
  }

  /** A copy with a different "other" threshold (the threshold is tuned after fitting). */
  withOtherThreshold(threshold: number): TextClassifier {
    return new TextClassifier(
      { ...this.params, otherThreshold: threshold },
      this.classes,
      this.tfidf,
      this.head,
    );
  }

  /** The same vocabulary and parameters over another head (optimized weights), or another vocabulary. */
  withHead(head: LinearHead, tfidf: TfidfState = this.tfidf): TextClassifier {
    if (head.features !== tfidf.hashes.length || head.classes !== this.classes.length)
      throw new RangeError('head shape does not agree with the vocabulary and classes');
    return new TextClassifier(this.params, this.classes, tfidf, head);
  }

  /** A dense head writes format version 1 (unchanged bytes); another storage writes version 2, gzipped. */
  toArtifact(): Uint8Array {
    const p = this.params;
    const header = {
      format: 'ferry-model',
      formatVersion: this.head.storage === 'dense-f32' ? FORMAT_VERSION : COMPACT_FORMAT_VERSION,
      kind: this.kind,
      signature: this.signature,
      classes: this.classes,
      params: {
        wordNgrams: p.wordNgrams,
        charNgrams: p.charNgrams,
        minDf: p.minDf,
        sublinearTf: p.sublinearTf,
        normalizeBlocks: p.normalizeBlocks,
        C: p.C,
        classWeight: p.classWeight,
        otherThreshold: p.otherThreshold,
        otherLabel: p.otherLabel,
      },
    };
    if (this.head.storage !== 'dense-f32') {
      const json = JSON.stringify({ ...header, ...encodeV2Body(this.tfidf, this.head) });
      return new Uint8Array(gzipSync(json, { level: 9 }));
    }
    const body = {
      ...header,
      wordFeatures: this.tfidf.wordFeatures,
      tensors: {
        hashes: encodeTensor(this.tfidf.hashes),
        idf: encodeTensor(this.tfidf.idf),
        weights: encodeTensor(this.head.denseWeights()),
        bias: encodeTensor(this.head.bias),
      },
    };
    return new TextEncoder().encode(JSON.stringify(body));
  }

  static fromArtifactJson(doc: Record<string, unknown>): TextClassifier {
    const formatVersion = ownField(doc, 'formatVersion');
    if (formatVersion !== FORMAT_VERSION && formatVersion !== COMPACT_FORMAT_VERSION)
      throw invalidArtifact(`format version ${String(formatVersion)} is not 1 or 2`);
    const classes = decodeClasses(ownField(doc, 'classes'));
    const params = decodeParams(ownField(doc, 'params'));
    if (formatVersion === COMPACT_FORMAT_VERSION) {
      const { tfidf, head } = decodeV2Body(doc, tfidfOptionsOf(params), classes.length);
      return new TextClassifier(params, classes, tfidf, head);
    }
    const tensors = ownField(doc, 'tensors');
    const hashes = decodeInt32(ownField(tensors, 'hashes'), 'hashes');
    const idf = decodeFloat32(ownField(tensors, 'idf'), 'idf');
    const weights = decodeFloat32(ownField(tensors, 'weights'), 'weights');
    const bias = decodeFloat32(ownField(tensors, 'bias'), 'bias');
    const wordFeatures = boundedInteger(ownField(doc, 'wordFeatures'), 'wordFeatures', 0, hashes.length);
    const K = classes.length;
    if (idf.length !== hashes.length || weights.length !== hashes.length * K || bias.length !== K) {
      throw invalidArtifact('text-classifier tensor shapes do not agree with each other');
    }
    const tfidf: TfidfState = { options: tfidfOptionsOf(params), hashes, wordFeatures, idf };
    return new TextClassifier(params, classes, tfidf, new DenseHead(weights, bias));
  }
}

/** Bounds of a decoded text classifier (n-grams: MAX_NGRAM in artifact-fields.ts). */
const MAX_CLASSES = 10_000;
const MAX_LABEL_LENGTH = 256;

function decodeClasses(value: unknown): string[] {
  if (!Array.isArray(value) || value.length < 2 || value.length > MAX_CLASSES)
    throw invalidArtifact(`classes must be a list of 2 to ${MAX_CLASSES} labels`);
  const classes = value.map((c, i) => boundedString(c, `classes[${i}]`, MAX_LABEL_LENGTH));
  if (new Set(classes).size !== classes.length) throw invalidArtifact('classes repeat a label');
  return classes;
}

/** Every parameter, from own fields only; an absent one takes its default, a present one is checked. */
function decodeParams(value: unknown): TextClassifierParams {
  if (value !== undefined && !isJsonObject(value)) throw invalidArtifact('params must be an object');
  const field = (key: keyof TextClassifierParams): unknown => {
    const v = ownField(value, key);
    return v === undefined ? DEFAULT_PARAMS[key] : v;
  };
  const bool = (key: 'sublinearTf' | 'normalizeBlocks'): boolean => {
    const v = field(key);
    if (typeof v !== 'boolean') throw invalidArtifact(`params.${key} must be a boolean`);
    return v;
  };
  const classWeight = field('classWeight');
  if (classWeight !== 'none' && classWeight !== 'balanced')
    throw invalidArtifact('params.classWeight must be "none" or "balanced"');
  return {
    wordNgrams: decodeNgramRange(field('wordNgrams'), 'params.wordNgrams'),
    charNgrams: decodeNgramRange(field('charNgrams'), 'params.charNgrams'),
    minDf: boundedInteger(field('minDf'), 'params.minDf', 0, 2 ** 31 - 1),
    sublinearTf: bool('sublinearTf'),
    normalizeBlocks: bool('normalizeBlocks'),
    C: boundedNumber(field('C'), 'params.C', Number.MIN_VALUE, Number.MAX_VALUE),
    classWeight,
    otherThreshold: boundedNumber(field('otherThreshold'), 'params.otherThreshold', 0, 1),
    otherLabel: boundedString(field('otherLabel'), 'params.otherLabel', MAX_LABEL_LENGTH),
  };
}
