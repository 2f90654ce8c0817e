import { ErrorCode, FerryError } from '../core/errors.js';
import { HashedFeaturizer } from '../model/kinds/online-text/hashed-features.js';
import { ONLINE_TEXT_KIND, OnlineTextClassifier } from '../model/kinds/online-text/online-text-classifier.js';
import { DenseHead } from '../model/linear-head.js';
import type { TextInput } from '../model/model.js';
import { fitSoftmaxRegression, type SoftTargets } from '../model/softmax-regression.js';
import { type CsrMatrix, csrFromRows, type SparseVector } from '../model/sparse.js';
import { projectText, tokenize } from '../model/text/clean.js';
import {
  DEFAULT_PARAMS,
  TEXT_CLASSIFIER_KIND,
  TextClassifier,
  tfidfOptionsOf,
} from '../model/text-classifier.js';
import { fitTfidf, TfidfTransformer } from '../model/tfidf.js';
import { balancedWeights } from './fine-tune.js';
import { checkDistill } from './optimize-options.js';
import type { Distill, OptimizedArtifact } from './optimize-types.js';
import { formatStudentSpec } from './student-spec.js';
import { softenProbabilities, teacherProbabilities } from './teacher-labels.js';

/** Student regularisation: the built-in classifier's default C (the course's data, tuned there). */
const STUDENT_C = DEFAULT_PARAMS.C;

/**
 * Knowledge distillation: the teacher labels the training texts (and the unlabeled ones) with its
 * probabilities; a cheaper student (fewer or cheaper features, same model family) is fitted on the
 * true labels (weight alpha) and the teacher's softened distribution (weight 1 − alpha, at the
 * temperature), which carries how alike the teacher finds the classes. Unlabeled texts learn from
 * the teacher alone. The student's classes are the teacher's, in its order.
 */
export const distill: Distill = async (teacher, training, opts, ctx) => {
  checkDistill(opts);
  const classes = [...teacher.classes];
  const K = classes.length;
  const unlabeled = opts.unlabeled ?? [];
  const texts: TextInput[] = [...training.rows, ...unlabeled];
  if (texts.length === 0)
    throw new FerryError(ErrorCode.OPTIMIZE_INVALID, `no texts to distill on in ${training.source}`);
  // A row whose label the teacher does not know has no hard target: it learns from the teacher only.
  const y = Int32Array.from(texts, (_, i) =>
    i < training.rows.length ? classes.indexOf(training.rows[i]!.tag) : -1,
  );
  const labeled = y.filter((v) => v >= 0).length;
  if (labeled === 0 && opts.alpha === 1)
    throw new FerryError(
      ErrorCode.OPTIMIZE_INVALID,
      'alpha 1 learns from true labels only, and no row has a label the teacher knows: nothing to learn',
    );
  const probs = await teacherProbabilities(teacher, texts, (done, total) =>
    ctx.onProgress?.('teacher', done, total),
  );
  const soft: SoftTargets = {
    targets: softenProbabilities(probs, K, opts.temperature),
    temperature: opts.temperature,
    alpha: opts.alpha,
  };
  const docs = texts.map((t) => tokenize(projectText(t.title, t.description)));
  const fitStudent = (X: CsrMatrix) =>
    fitSoftmaxRegression(X, y, K, {
      C: STUDENT_C,
      classWeights: balancedWeights(y, K, true),
      soft,
      onIteration: (i) => ctx.onProgress?.('fit', i, 500),
    });
  const spec = opts.student;
  const details = {
    student: formatStudentSpec(spec),
    temperature: opts.temperature,
    alpha: opts.alpha,
    rowsLabeled: labeled,
    rowsUnlabeled: texts.length - labeled,
  };

  if (spec.type === 'hashed') {
    const bits = Math.log2(spec.buckets);
    const ngrams = { wordNgrams: spec.ngrams, charNgrams: [0, 0] as [number, number] };
    const featurizer = new HashedFeaturizer(bits, ngrams);
    // Only buckets some text touches get a column: the others would stay at zero anyway (no
    // gradient but the penalty), and 2^22 × K parameters would not fit L-BFGS's history.
    const columnOf = new Map<number, number>();
    const rows: SparseVector[] = docs.map((d) => {
      const v = featurizer.vectorize(d);
      const indices: number[] = [];
      for (let i = 0; i < v.length; i++) {
        const b = v.indices[i]!;
        if (!columnOf.has(b)) columnOf.set(b, columnOf.size);
        indices.push(columnOf.get(b)!);
      }
      return { indices, values: Array.from(v.values.subarray(0, v.length)) };
    });
    const result = fitStudent(csrFromRows(rows, columnOf.size));
    const buckets = Int32Array.from(columnOf.keys()).sort();
    const weights = new Float32Array(buckets.length * K);
    buckets.forEach((b, r) => {
      const col = columnOf.get(b)!;
      for (let c = 0; c < K; c++) weights[r * K + c] = result.theta[col * K + c]!;
    });
    const model = OnlineTextClassifier.fromWeights({ bits, ...ngrams }, classes, {
      buckets,
      weights,
      bias: Float32Array.from(result.theta.subarray(columnOf.size * K)),
      updates: texts.length,
    });
    return artifactOf(ONLINE_TEXT_KIND, model.toArtifact(), {
      ...details,
      features: buckets.length,
      buckets: spec.buckets,
      fitIterations: result.iterations,
    });
  }

  const params = {
    ...DEFAULT_PARAMS,
    wordNgrams: spec.type === 'word' ? spec.ngrams : ([0, 0] as [number, number]),
    charNgrams: spec.type === 'char' ? spec.ngrams : ([0, 0] as [number, number]),
  };
  // The vocabulary is learned from distinct texts: unlabeled copies of training texts must not
  // double their document frequencies (minDf would then keep n-grams seen once).
  const distinct = [...new Map(docs.map((d) => [d.join(' '), d])).values()];
  const tfidf = fitTfidf(distinct, tfidfOptionsOf(params));
  const transformer = new TfidfTransformer(tfidf);
  const result = fitStudent(
    csrFromRows(
      docs.map((d) => transformer.transform(d)),
      transformer.size,
    ),
  );
  const biasAt = transformer.size * K;
  const model = new TextClassifier(
    params,
    classes,
    tfidf,
    new DenseHead(
      Float32Array.from(result.theta.subarray(0, biasAt)),
      Float32Array.from(result.theta.subarray(biasAt)),
    ),
  );
  return artifactOf(TEXT_CLASSIFIER_KIND, model.toArtifact(), {
    ...details,
    features: model.featureCount,
    fitIterations: result.iterations,
  });
};

function artifactOf(kind: string, artifact: Uint8Array, details: Record<string, unknown>): OptimizedArtifact {
  return { kind, artifact, details };
}
