import type { ProgressiveWindow, WindowFigures } from './progressive-window.js';

/**
 * The guardrails' pure decisions, over the progressive window (same labels for every model
 * compared; see progressive-window.ts).
 *
 * Promotion: a snapshot moves `production` only when the learner's progressive weighted F1 beats
 * production's on the same last labels by more than `margin`, with at least `minLabels` such labels;
 * otherwise it becomes the `candidate`. With no production yet (or one that cannot answer text),
 * a snapshot becomes production once the learner has `minLabels` labels in its window.
 *
 * Fallback: while a snapshot the learner promoted serves, the version it replaced keeps answering
 * the new labels; once both answered `minLabels` of them and the serving snapshot's weighted F1 is
 * below the replaced version's by more than `margin`, production moves back to it.
 */
export interface GuardrailSettings {
  readonly margin: number;
  readonly minLabels: number;
}

export interface PromotionDecision {
  readonly promote: boolean;
  readonly reason: string;
  readonly learner: WindowFigures;
  readonly production?: WindowFigures;
}

export function decidePromotion(
  window: ProgressiveWindow,
  production: number | undefined,
  s: GuardrailSettings,
): PromotionDecision {
  if (production === undefined) {
    const learner = window.learnerFigures();
    return learner.labels >= s.minLabels
      ? { promote: true, reason: 'no production version to compare with', learner }
      : {
          promote: false,
          reason: `only ${learner.labels} labels in the window (needs ${s.minLabels})`,
          learner,
        };
  }
  const cmp = window.compare(production);
  if (cmp.learner.labels < s.minLabels) {
    return {
      promote: false,
      reason: `only ${cmp.learner.labels} labels answered by production ${production} (needs ${s.minLabels})`,
      learner: cmp.learner,
      production: cmp.version,
    };
  }
  const gain = cmp.learner.weightedF1 - cmp.version.weightedF1;
  return {
    promote: gain > s.margin,
    reason:
      gain > s.margin
        ? `weighted F1 ${fmt(cmp.learner.weightedF1)} beats production's ${fmt(cmp.version.weightedF1)} by ${fmt(gain)} > ${s.margin}`
        : `weighted F1 ${fmt(cmp.learner.weightedF1)} does not beat production's ${fmt(cmp.version.weightedF1)} by more than ${s.margin}`,
    learner: cmp.learner,
    production: cmp.version,
  };
}

export interface FallbackDecision {
  readonly fallBack: boolean;
  readonly reason: string;
  readonly serving: WindowFigures;
  readonly previous: WindowFigures;
}

export function decideFallback(
  window: ProgressiveWindow,
  serving: number,
  previous: number,
  s: GuardrailSettings,
): FallbackDecision {
  const cmp = window.compare(serving, previous);
  const prev = cmp.other!;
  if (cmp.version.labels < s.minLabels) {
    return {
      fallBack: false,
      reason: `only ${cmp.version.labels} labels answered by both (needs ${s.minLabels})`,
      serving: cmp.version,
      previous: prev,
    };
  }
  const loss = prev.weightedF1 - cmp.version.weightedF1;
  return {
    fallBack: loss > s.margin,
    reason:
      loss > s.margin
        ? `serving ${serving} weighted F1 ${fmt(cmp.version.weightedF1)} fell below version ${previous}'s ${fmt(prev.weightedF1)} by ${fmt(loss)} > ${s.margin}`
        : `serving ${serving} weighted F1 ${fmt(cmp.version.weightedF1)} holds against version ${previous}'s ${fmt(prev.weightedF1)}`,
    serving: cmp.version,
    previous: prev,
  };
}

function fmt(x: number): string {
  return x.toFixed(4);
}
