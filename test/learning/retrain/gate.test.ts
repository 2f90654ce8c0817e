import { describe, expect, it } from 'vitest';
import { decideGate, type ModelEvaluation } from '../../../src/learning/retrain/gate.js';

const SETTINGS = { minF1: 0.5, classMargin: 0.05, minEvalRows: 100 };

function evaluation(over: Partial<ModelEvaluation> = {}): ModelEvaluation {
  return {
    f1: 0.8,
    perClass: { a: 0.8, b: 0.8, c: 0.8 },
    behavioralPassed: 5,
    behavioralFailed: 2,
    rows: 200,
    ...over,
  };
}

describe('decideGate (pure)', () => {
  it('passes a candidate as good as production on the same rows, every rule said in order', () => {
    const d = decideGate({ candidate: evaluation(), production: evaluation() }, SETTINGS);
    expect(d.passed).toBe(true);
    expect(d.failedRule).toBeNull();
    expect(d.reasons.map((r) => r.split(':')[0])).toEqual([
      'pass same_rows',
      'pass min_eval_rows',
      'pass min_f1',
      'pass class_margin',
      'pass behavioral',
    ]);
    expect(d.figures.perClass.a).toEqual({ candidate: 0.8, production: 0.8, delta: 0 });
  });

  it('refuses evaluations on different row counts (never compares unlike numbers)', () => {
    const d = decideGate({ candidate: evaluation(), production: evaluation({ rows: 199 }) }, SETTINGS);
    expect(d).toMatchObject({ passed: false, failedRule: 'same_rows' });
  });

  it('a 6-row dataset is never promoted: its evaluation set is below the minimum, however perfect', () => {
    const perfect = evaluation({
      f1: 1,
      perClass: { a: 1, b: 1 },
      behavioralPassed: 7,
      behavioralFailed: 0,
      rows: 2,
    });
    for (const production of [null, evaluation({ rows: 2, f1: 0 })]) {
      const d = decideGate({ candidate: perfect, production }, SETTINGS);
      expect(d).toMatchObject({ passed: false, failedRule: 'min_eval_rows' });
      expect(d.reasons[1]).toBe('FAIL min_eval_rows: evaluation set of 2 rows (minimum 100)');
    }
    // Exactly the minimum passes that rule.
    expect(decideGate({ candidate: evaluation({ rows: 100 }), production: null }, SETTINGS).passed).toBe(
      true,
    );
  });

  it('refuses a weighted F1 below the minimum, even with no production to compare with', () => {
    const d = decideGate({ candidate: evaluation({ f1: 0.49 }), production: null }, SETTINGS);
    expect(d).toMatchObject({ passed: false, failedRule: 'min_f1' });
    expect(d.figures.productionF1).toBeNull();
    expect(decideGate({ candidate: evaluation({ f1: 0.5 }), production: null }, SETTINGS).passed).toBe(true);
  });

  it('refuses a class worse than production by more than the margin, and names it', () => {
    const candidate = evaluation({ f1: 0.9, perClass: { a: 0.95, b: 0.95, c: 0.7 } });
    const d = decideGate({ candidate, production: evaluation() }, SETTINGS);
    expect(d).toMatchObject({ passed: false, failedRule: 'class_margin' });
    expect(d.figures.worstClass?.name).toBe('c');
    expect(d.figures.worstClass?.drop).toBeCloseTo(0.1, 12);
    expect(d.reasons[3]).toMatch(/^FAIL class_margin: worst class c: F1 0\.7000 vs 0\.8000/);
    // Within the margin: passes.
    const within = evaluation({ perClass: { a: 0.8, b: 0.8, c: 0.75 } });
    expect(decideGate({ candidate: within, production: evaluation() }, SETTINGS).passed).toBe(true);
  });

  it('a class the candidate lacks counts as F1 0 against production', () => {
    const candidate = evaluation({ perClass: { a: 0.9, b: 0.9 } });
    const d = decideGate({ candidate, production: evaluation() }, SETTINGS);
    expect(d).toMatchObject({
      failedRule: 'class_margin',
      figures: { worstClass: { name: 'c', drop: 0.8 } },
    });
  });

  it('refuses fewer behavioural tests passed than production', () => {
    const d = decideGate(
      { candidate: evaluation({ behavioralPassed: 4, behavioralFailed: 3 }), production: evaluation() },
      SETTINGS,
    );
    expect(d).toMatchObject({ passed: false, failedRule: 'behavioral' });
    expect(d.figures.behavioral).toEqual({ candidatePassed: 4, candidateFailed: 3, productionPassed: 5 });
  });

  it('reports the first failing rule but evaluates them all', () => {
    const d = decideGate(
      { candidate: evaluation({ rows: 10, f1: 0.1, behavioralPassed: 0 }), production: null },
      SETTINGS,
    );
    expect(d.failedRule).toBe('min_eval_rows');
    expect(d.reasons.filter((r) => r.startsWith('FAIL')).map((r) => r.split(':')[0])).toEqual([
      'FAIL min_eval_rows',
      'FAIL min_f1',
    ]);
  });
});
