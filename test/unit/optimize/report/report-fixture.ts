import type { OptimizeReport, VariantMeasurement } from '../../../../src/optimize/optimize-types.js';

/** A report with figures chosen by hand: a parent, two scored variants, and one without the text contract. */
export const ODD_LABEL = 'prune <magnitude> & "fine-tune"';

const parent: VariantMeasurement = {
  label: 'parent',
  ref: 'clf/3',
  kind: 'ferry.text-classifier.tfidf-logreg',
  artifactBytes: 2_457_600,
  memoryBytes: 6_291_456,
  loadMs: 41.237,
  latencyP50Ms: 0.2134,
  latencyP99Ms: 0.9871,
  predictionsPerSecond: 12_345.6,
  weightedF1: 0.8412,
  perClassF1: { 'computer-vision': 0.9, mlops: 0.7, 'natural-language-processing': 0.88, other: 0.5 },
  agreement: null,
};

export const REPORT: OptimizeReport = {
  evalSet: { source: 'holdout.csv', rows: 191, seenInTraining: true },
  parent,
  variants: [
    {
      ...parent,
      label: 'quantize int8',
      ref: 'clf/4',
      artifactBytes: 614_400,
      memoryBytes: 1_572_864,
      loadMs: 12.5,
      latencyP50Ms: 0.1511,
      latencyP99Ms: 0.5,
      predictionsPerSecond: 20_000,
      weightedF1: 0.8367,
      perClassF1: { 'computer-vision': 0.89, mlops: 0.71, 'natural-language-processing': 0.87, other: 0.48 },
      agreement: { top1: 0.9843, meanAbsProbabilityDiff: 0.00312 },
    },
    {
      ...parent,
      label: ODD_LABEL,
      ref: null,
      artifactBytes: 245_760,
      weightedF1: 0.8523,
      agreement: { top1: 0.95, meanAbsProbabilityDiff: 0.0211 },
    },
    {
      ...parent,
      label: 'custom linear',
      ref: null,
      kind: 'custom',
      weightedF1: null,
      perClassF1: null,
      agreement: null,
      note: 'no text contract: timed on generated inputs; F1 and agreement not measured',
    },
  ],
};
