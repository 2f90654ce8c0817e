// The L-BFGS solver as it was before its passes were fused (issue 16), kept verbatim as the reference
// that test/unit/model/lbfgs-fused.test.ts compares the solver's bits with.
/**
 * Limited-memory BFGS for smooth unconstrained minimisation (Nocedal & Wright, algorithm 7.4/7.5)
 * with a backtracking line search under the Armijo condition. Deterministic: no randomness, fixed
 * arithmetic order, so the same problem gives the same bits.
 */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  maxIterations: number;
  /** Stop when the gradient's infinity norm falls below this. */
  gradientTolerance: number;
  /** Stop when the relative decrease of the objective over one iteration falls below this. */
  functionTolerance: number;
  memory: number;
  onIteration?: (iteration: number, value: number) => void;
}

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  converged: boolean;
}

const DEFAULTS: LbfgsOptions = {
  maxIterations: 500,
  gradientTolerance: 1e-5,
  functionTolerance: 1e-9,
  memory: 10,
};

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

export function minimizeLbfgs(
  f: Objective,
  x0: Float64Array,
  options: Partial<LbfgsOptions> = {},
): LbfgsResult {
  const opts = { ...DEFAULTS, ...options };
  const n = x0.length;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let fx = f(x, g);
  const sHist: Float64Array[] = [];
  const yHist: Float64Array[] = [];
  const rhoHist: number[] = [];
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const alpha = new Float64Array(opts.memory);
  let spareS: Float64Array = new Float64Array(n);
  let spareY: Float64Array = new Float64Array(n);

  for (let iter = 1; iter <= opts.maxIterations; iter++) {
    if (maxAbs(g) < opts.gradientTolerance) return { x, value: fx, iterations: iter - 1, converged: true };

    // Two-loop recursion: d = -H g.
    for (let i = 0; i < n; i++) d[i] = -g[i]!;
    for (let k = sHist.length - 1; k >= 0; k--) {
      alpha[k] = rhoHist[k]! * dot(sHist[k]!, d);
      const y = yHist[k]!;
      for (let i = 0; i < n; i++) d[i]! -= alpha[k]! * y[i]!;
    }
    if (sHist.length > 0) {
      const last = sHist.length - 1;
      const gamma = dot(sHist[last]!, yHist[last]!) / dot(yHist[last]!, yHist[last]!);
      for (let i = 0; i < n; i++) d[i]! *= gamma;
    }
    for (let k = 0; k < sHist.length; k++) {
      const beta = rhoHist[k]! * dot(yHist[k]!, d);
      const s = sHist[k]!;
      for (let i = 0; i < n; i++) d[i]! += (alpha[k]! - beta) * s[i]!;
    }

    let slope = dot(g, d);
    if (slope >= 0) {
      // Not a descent direction (curvature information went stale): restart from steepest descent.
      sHist.length = 0;
      yHist.length = 0;
      rhoHist.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i]!;
      slope = dot(g, d);
    }

    let step = sHist.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let fNew = Number.POSITIVE_INFINITY;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + step * d[i]!;
      fNew = f(xNew, gNew);
      if (fNew <= fx + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNew < fx)) return { x, value: fx, iterations: iter, converged: true };

    // Written into spare buffers: a kept pair takes them and the pair it pushes out (if any) becomes
    // the spare, so a full history allocates nothing; a rejected pair leaves the history untouched.
    const s = spareS;
    const y = spareY;
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i]! - x[i]!;
      y[i] = gNew[i]! - g[i]!;
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      if (sHist.length === opts.memory) {
        spareS = sHist.shift()!;
        spareY = yHist.shift()!;
        rhoHist.shift();
      } else {
        spareS = new Float64Array(n);
        spareY = new Float64Array(n);
      }
      sHist.push(s);
      yHist.push(y);
      rhoHist.push(1 / sy);
    }
    const decrease = (fx - fNew) / Math.max(Math.abs(fx), Math.abs(fNew), 1);
    x.set(xNew);
    g.set(gNew);
    fx = fNew;
    opts.onIteration?.(iter, fx);
    if (decrease < opts.functionTolerance) return { x, value: fx, iterations: iter, converged: true };
  }
  return { x, value: fx, iterations: opts.maxIterations, converged: false };
}
