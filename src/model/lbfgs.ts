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

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** One stored curvature pair, with the dot products the two-loop recursion needs from it alone. */
interface Pair {
  s: Float64Array;
  y: Float64Array;
  /** 1 / (s·y) */
  rho: number;
  /** (s·y) / (y·y): the initial Hessian's scale when this is the newest pair. */
  gamma: number;
}

/**
 * d = −H·g by the two-loop recursion, written so that each pass over the vectors also accumulates
 * the dot product the next step needs: a history of m pairs costs 2m + 1 passes instead of 4m + 3.
 * Every sum runs over i in ascending order from 0, as `dot` does, so the result has the same bits as
 * the textbook form (one dot product, then one update, per step); test/unit/model/solver-exactness.test.ts
 * holds it to the code before. The sums are serial chains of additions, which bound a pass's speed;
 * splitting them into several accumulators would be faster but would change the model's bits.
 * Returns g·d.
 */
function twoLoopDirection(
  g: Float64Array,
  hist: readonly Pair[],
  alpha: Float64Array,
  d: Float64Array,
): number {
  const n = g.length;
  const h = hist.length;
  if (h === 0) {
    let slope = 0;
    for (let i = 0; i < n; i++) {
      d[i] = -g[i]!;
      slope += g[i]! * d[i]!;
    }
    return slope;
  }
  // First loop, newest to oldest: pass k applies pair k's update and sums s_{k−1}·d for the next.
  let next = 0;
  const sLast = hist[h - 1]!.s;
  for (let i = 0; i < n; i++) {
    d[i] = -g[i]!;
    next += sLast[i]! * d[i]!;
  }
  const gamma = hist[h - 1]!.gamma;
  for (let k = h - 1; k >= 0; k--) {
    const a = hist[k]!.rho * next;
    alpha[k] = a;
    const y = hist[k]!.y;
    next = 0;
    if (k > 0) {
      const sPrev = hist[k - 1]!.s;
      for (let i = 0; i < n; i++) {
        d[i]! -= a * y[i]!;
        next += sPrev[i]! * d[i]!;
      }
    } else {
      // The oldest pair's update, the scaling by gamma, and y_0·d for the second loop's first step.
      const y0 = hist[0]!.y;
      for (let i = 0; i < n; i++) {
        d[i]! -= a * y[i]!;
        d[i]! *= gamma;
        next += y0[i]! * d[i]!;
      }
    }
  }
  // Second loop, oldest to newest: pass k applies pair k's update and sums y_{k+1}·d (or g·d last).
  let slope = 0;
  for (let k = 0; k < h; k++) {
    const coef = alpha[k]! - hist[k]!.rho * next;
    const s = hist[k]!.s;
    const after = k + 1 < h ? hist[k + 1]!.y : g;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      d[i]! += coef * s[i]!;
      sum += after[i]! * d[i]!;
    }
    if (k + 1 < h) next = sum;
    else slope = sum;
  }
  return slope;
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
  let gMax = maxAbs(g);
  const hist: Pair[] = [];
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const alpha = new Float64Array(opts.memory);
  let spareS: Float64Array = new Float64Array(n);
  let spareY: Float64Array = new Float64Array(n);

  for (let iter = 1; iter <= opts.maxIterations; iter++) {
    if (gMax < opts.gradientTolerance) return { x, value: fx, iterations: iter - 1, converged: true };

    let slope = twoLoopDirection(g, hist, alpha, d);
    if (slope >= 0) {
      // Not a descent direction (curvature information went stale): restart from steepest descent.
      hist.length = 0;
      slope = twoLoopDirection(g, hist, alpha, d);
    }

    let step = hist.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let fNew = Number.POSITIVE_INFINITY;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i]! + step * d[i]!;
      fNew = f(xNew, gNew);
      if (fNew <= fx + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNew < fx)) return { x, value: fx, iterations: iter, converged: true };

    // One pass: the new pair into spare buffers (a kept pair takes them and the pair it pushes out,
    // if any, becomes the spare, so a full history allocates nothing; a rejected pair leaves the
    // history untouched), its dot products, the next gradient's norm, and the move to the new point.
    const s = spareS;
    const y = spareY;
    let sy = 0;
    let yy = 0;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const si = xNew[i]! - x[i]!;
      const gi = gNew[i]!;
      const yi = gi - g[i]!;
      s[i] = si;
      y[i] = yi;
      sy += si * yi;
      yy += yi * yi;
      m = Math.max(m, Math.abs(gi));
      x[i] = xNew[i]!;
      g[i] = gi;
    }
    if (sy > 1e-12) {
      if (hist.length === opts.memory) {
        const out = hist.shift()!;
        spareS = out.s;
        spareY = out.y;
      } else {
        spareS = new Float64Array(n);
        spareY = new Float64Array(n);
      }
      hist.push({ s, y, rho: 1 / sy, gamma: sy / yy });
    }
    const decrease = (fx - fNew) / Math.max(Math.abs(fx), Math.abs(fNew), 1);
    gMax = m;
    fx = fNew;
    opts.onIteration?.(iter, fx);
    if (decrease < opts.functionTolerance) return { x, value: fx, iterations: iter, converged: true };
  }
  return { x, value: fx, iterations: opts.maxIterations, converged: false };
}
