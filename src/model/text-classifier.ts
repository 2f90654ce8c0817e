import { ErrorCode, FerryError } from '../core/errors.js';
import type { Model, Prediction, Signature, TextInput } from './model.js';
import { TEXT_SIGNATURE } from './model.js';
import { fitSoftmaxRegression, softmaxProbabilities } from './softmax-regression.js';
import { type CsrMatrix, csrFromRows } from './sparse.js';
import { decodeFloat32, decodeInt32, encodeTensor } from './tensor-codec.js';
import { projectText, tokenize } from './text/clean.js';
import { fitTfidf, type TfidfState, TfidfTransformer } from './tfidf.js';

export const TEXT_CLASSIFIER_KIND = 'ferry.text-classifier.tfidf-logreg';
const FORMAT_VERSION = 1;

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
}

/** Training features: the fitted vocabulary and the training matrix, reusable across values of C. */
export interface Featurized {
  classes: string[];
  tfidf: TfidfState;
  X: CsrMatrix;
  y: Int32Array;
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
      { status: 400 },
    );
  }
  const docs = inputs.map((r) => tokenize(projectText(r.title, r.description)));
  const tfidf = fitTfidf(docs, {
    wordNgrams: params.wordNgrams,
    charNgrams: params.charNgrams,
    minDf: params.minDf,
    sublinearTf: params.sublinearTf,
    normalizeBlocks: params.normalizeBlocks,
  });
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
export class TextClassifier implements Model {
  readonly kind = TEXT_CLASSIFIER_KIND;
  readonly signature: Signature = TEXT_SIGNATURE;
  private readonly transformer: TfidfTransformer;
  private readonly scratch: Float64Array;

  constructor(
    readonly params: TextClassifierParams,
    readonly classes: readonly string[],
    private readonly tfidf: TfidfState,
    private readonly weights: Float32Array,
    private readonly bias: Float32Array,
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
      ...(options.onIteration ? { onIteration: options.onIteration } : {}),
    });
    const biasAt = f.X.cols * f.classes.length;
    const model = new TextClassifier(
      params,
      f.classes,
      f.tfidf,
      Float32Array.from(fit.theta.subarray(0, biasAt)),
      Float32Array.from(fit.theta.subarray(biasAt)),
    );
    return { model, theta: fit.theta, iterations: fit.iterations };
  }

  /** Probabilities in `classes` order, written into a fresh array. */
  probabilities(input: TextInput): Float64Array {
    const v = this.transformer.transform(tokenize(projectText(input.title, input.description)));
    softmaxProbabilities(this.weights, this.bias, this.classes.length, v.indices, v.values, this.scratch);
    return Float64Array.from(this.scratch);
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
    return rows.map((row) => {
      const probs = this.probabilities(row);
      const probabilities: Record<string, number> = {};
      this.classes.forEach((c, k) => {
        probabilities[c] = probs[k]!;
      });
      return { prediction: this.decide(probs), probabilities };
    });
  }

  async predict(rows: readonly TextInput[]): Promise<Prediction[]> {
    return this.predictBatch(rows);
  }

  /** A copy with a different "other" threshold (the threshold is tuned after fitting). */
  withOtherThreshold(threshold: number): TextClassifier {
    return new TextClassifier(
      { ...this.params, otherThreshold: threshold },
      this.classes,
      this.tfidf,
      this.weights,
      this.bias,
    );
  }

  toArtifact(): Uint8Array {
    const p = this.params;
    const body = {
      format: 'ferry-model',
      formatVersion: FORMAT_VERSION,
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
      wordFeatures: this.tfidf.wordFeatures,
      tensors: {
        hashes: encodeTensor(this.tfidf.hashes),
        idf: encodeTensor(this.tfidf.idf),
        weights: encodeTensor(this.weights),
        bias: encodeTensor(this.bias),
      },
    };
    return new TextEncoder().encode(JSON.stringify(body));
  }

  static fromArtifactJson(doc: Record<string, unknown>): TextClassifier {
    const invalid = (why: string) =>
      new FerryError(ErrorCode.MODEL_INVALID_ARTIFACT, `invalid text-classifier artifact: ${why}`);
    if (doc.formatVersion !== FORMAT_VERSION)
      throw invalid(`format version ${String(doc.formatVersion)} is not ${FORMAT_VERSION}`);
    const classes = doc.classes;
    if (!Array.isArray(classes) || classes.length < 2 || !classes.every((c) => typeof c === 'string'))
      throw invalid('classes');
    const params = { ...DEFAULT_PARAMS, ...(doc.params as Partial<TextClassifierParams>) };
    const range = (r: unknown) =>
      Array.isArray(r) && r.length === 2 && r.every((n) => Number.isInteger(n) && n >= 0);
    if (!range(params.wordNgrams) || !range(params.charNgrams)) throw invalid('n-gram ranges');
    if (typeof params.otherThreshold !== 'number' || typeof params.otherLabel !== 'string')
      throw invalid('other threshold');
    const wordFeatures = doc.wordFeatures;
    const t = (doc.tensors ?? {}) as Record<string, unknown>;
    const hashes = decodeInt32(t.hashes, 'hashes');
    const idf = decodeFloat32(t.idf, 'idf');
    const weights = decodeFloat32(t.weights, 'weights');
    const bias = decodeFloat32(t.bias, 'bias');
    const K = classes.length;
    if (
      idf.length !== hashes.length ||
      weights.length !== hashes.length * K ||
      bias.length !== K ||
      !Number.isInteger(wordFeatures) ||
      (wordFeatures as number) < 0 ||
      (wordFeatures as number) > hashes.length
    ) {
      throw invalid('tensor shapes do not agree with each other');
    }
    const tfidf: TfidfState = {
      options: {
        wordNgrams: params.wordNgrams,
        charNgrams: params.charNgrams,
        minDf: params.minDf,
        sublinearTf: params.sublinearTf,
        normalizeBlocks: params.normalizeBlocks,
      },
      hashes,
      wordFeatures: wordFeatures as number,
      idf,
    };
    return new TextClassifier(params, classes as string[], tfidf, weights, bias);
  }
}
