import type { TextModel } from '../model/model.js';
import { projectText } from '../model/text/clean.js';
import { type BehavioralReport, runBehavioralTests } from './behavioral.js';
import type { LabeledProject } from './dataset.js';
import { microMetrics, type PrfMetrics, perClassMetrics, weightedMetrics } from './metrics.js';

/** The course's slices: NLP projects about LLMs, and projects with fewer than 8 words of text. */
const SLICES: Record<string, (row: LabeledProject) => boolean> = {
  nlp_llm: (row) => {
    const text = projectText(row.title, row.description).toLowerCase();
    return (
      row.tag === 'natural-language-processing' &&
      ['transformer', 'llm', 'bert'].some((t) => text.includes(t))
    );
  },
  short_text: (row) => projectText(row.title, row.description).split(/\s+/u).filter(Boolean).length < 8,
};

export interface EvaluationReport {
  timestamp: string;
  model?: string;
  overall: PrfMetrics;
  per_class: Record<string, PrfMetrics>;
  slices: Record<string, PrfMetrics>;
  behavioral: BehavioralReport;
}

export function evaluateModel(
  model: TextModel,
  rows: readonly LabeledProject[],
  now: Date = new Date(),
): EvaluationReport {
  const yTrue = rows.map((r) => r.tag);
  const yPred = model.predictBatch(rows).map((p) => p.prediction);
  const classes = [...new Set([...model.classes, ...yTrue])].sort();
  const slices: Record<string, PrfMetrics> = {};
  for (const [name, inSlice] of Object.entries(SLICES)) {
    const idx = rows.flatMap((r, i) => (inSlice(r) ? [i] : []));
    slices[name] = microMetrics(
      idx.map((i) => yTrue[i]!),
      idx.map((i) => yPred[i]!),
    );
  }
  return {
    timestamp: now.toISOString(),
    overall: weightedMetrics(yTrue, yPred, classes),
    per_class: perClassMetrics(yTrue, yPred, classes),
    slices,
    behavioral: runBehavioralTests(model),
  };
}
