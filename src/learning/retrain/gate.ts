/**
 * The retraining gate, pure: the candidate and the production version scored on the SAME evaluation
 * rows, judged by rules in a fixed order. The first rule that fails refuses the candidate; every
 * rule's figures are returned either way, so a refusal shows what the candidate lacked.
 */

/** One model's scores on the evaluation rows. */
export interface ModelEvaluation {
  /** Weighted F1 (scikit-learn's definition). */
  readonly f1: number;
  /** F1 per class of the evaluation rows (and of either model's classes). */
  readonly perClass: Readonly<Record<string, number>>;
  readonly behavioralPassed: number;
  readonly behavioralFailed: number;
  /** Rows it was scored on. */
  readonly rows: number;
}

export interface GateInput {
  readonly candidate: ModelEvaluation;
  /** Null when the model has no production version yet: the comparative rules have nothing to compare. */
  readonly production: ModelEvaluation | null;
}

export interface GateSettings {
  /** FERRY_RETRAIN_MIN_F1 */
  readonly minF1: number;
  /** FERRY_RETRAIN_CLASS_MARGIN */
  readonly classMargin: number;
  /** FERRY_RETRAIN_MIN_EVAL_ROWS */
  readonly minEvalRows: number;
}

export const GATE_RULES = ['same_rows', 'min_eval_rows', 'min_f1', 'class_margin', 'behavioral'] as const;
export type GateRule = (typeof GATE_RULES)[number];

export interface GateFigures {
  readonly evalRows: number;
  readonly candidateF1: number;
  readonly productionF1: number | null;
  /** Per class: candidate F1, production F1 (null without production), candidate − production. */
  readonly perClass: Readonly<
    Record<string, { candidate: number; production: number | null; delta: number | null }>
  >;
  /** The class whose F1 fell the most against production, and by how much (null: none fell). */
  readonly worstClass: { readonly name: string; readonly drop: number } | null;
  readonly behavioral: {
    readonly candidatePassed: number;
    readonly candidateFailed: number;
    readonly productionPassed: number | null;
  };
  readonly settings: GateSettings;
}

export interface GateDecision {
  readonly passed: boolean;
  /** The first rule that failed, null when all passed. */
  readonly failedRule: GateRule | null;
  /** One line per rule, in order, saying what was checked and how it came out. */
  readonly reasons: readonly string[];
  readonly figures: GateFigures;
}

const f = (x: number) => x.toFixed(4);

/** Floating sums of the same rows can differ in the last bits; a drop smaller than this is no drop. */
const EPSILON = 1e-9;

export function decideGate(input: GateInput, settings: GateSettings): GateDecision {
  const { candidate, production } = input;
  const classes = [
    ...new Set([...Object.keys(candidate.perClass), ...Object.keys(production?.perClass ?? {})]),
  ].sort();
  const perClass: Record<string, { candidate: number; production: number | null; delta: number | null }> = {};
  let worstClass: { name: string; drop: number } | null = null;
  for (const c of classes) {
    const cand = candidate.perClass[c] ?? 0;
    const prod = production ? (production.perClass[c] ?? 0) : null;
    const delta = prod === null ? null : cand - prod;
    perClass[c] = { candidate: cand, production: prod, delta };
    if (delta !== null && delta < 0 && (worstClass === null || -delta > worstClass.drop))
      worstClass = { name: c, drop: -delta };
  }
  const figures: GateFigures = {
    evalRows: candidate.rows,
    candidateF1: candidate.f1,
    productionF1: production?.f1 ?? null,
    perClass,
    worstClass,
    behavioral: {
      candidatePassed: candidate.behavioralPassed,
      candidateFailed: candidate.behavioralFailed,
      productionPassed: production?.behavioralPassed ?? null,
    },
    settings,
  };

  const checks: Array<[GateRule, boolean, string]> = [];
  // A comparison on different rows means nothing: refuse rather than compare unlike numbers.
  checks.push([
    'same_rows',
    production === null || production.rows === candidate.rows,
    production === null
      ? 'no production version: nothing to compare with'
      : `both scored on the same ${candidate.rows} rows`,
  ]);
  checks.push([
    'min_eval_rows',
    candidate.rows >= settings.minEvalRows,
    `evaluation set of ${candidate.rows} rows (minimum ${settings.minEvalRows})`,
  ]);
  checks.push([
    'min_f1',
    candidate.f1 >= settings.minF1,
    `candidate weighted F1 ${f(candidate.f1)} (minimum ${f(settings.minF1)})${production ? `; production ${f(production.f1)}` : ''}`,
  ]);
  checks.push([
    'class_margin',
    worstClass === null || worstClass.drop <= settings.classMargin + EPSILON,
    production === null
      ? 'no production version: no per-class comparison'
      : worstClass === null
        ? 'no class worse than production'
        : `worst class ${worstClass.name}: F1 ${f(perClass[worstClass.name]!.candidate)} vs ${f(perClass[worstClass.name]!.production ?? 0)} of production, a drop of ${f(worstClass.drop)} (margin ${f(settings.classMargin)})`,
  ]);
  const total = candidate.behavioralPassed + candidate.behavioralFailed;
  checks.push([
    'behavioral',
    candidate.behavioralPassed >= (production?.behavioralPassed ?? 0),
    `behavioural tests: candidate passed ${candidate.behavioralPassed}/${total}${production ? `, production ${production.behavioralPassed}/${production.behavioralPassed + production.behavioralFailed}` : ''}`,
  ]);

  const reasons: string[] = [];
  let failedRule: GateRule | null = null;
  for (const [rule, ok, text] of checks) {
    reasons.push(`${ok ? 'pass' : 'FAIL'} ${rule}: ${text}`);
    if (!ok && failedRule === null) failedRule = rule;
  }
  return { passed: failedRule === null, failedRule, reasons, figures };
}
