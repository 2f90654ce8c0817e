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

/*
 * The passes below keep four partial sums (elements i mod 4) and add them pairwise at the end. A
 * dot product with one accumulator is a serial chain of floating-point additions, bounded by the
 * adder's latency (1.7 ns an element here); four chains run side by side. The order is fixed, so a
 * fit is still deterministic, but its bits differ from a one-accumulator sum in the last places.
 */

/**
 * d ← scale·(d + coef·v), then returns w·d. Every pass but one leaves scale at 1: x·1 is x exactly in
 * IEEE arithmetic, so those passes give the bits they would without the multiplication.
 */
function axpyThenDot(d: Float64Array, coef: number, v: Float64Array, w: Float64Array, scale = 1): number {
  const n = d.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const d0 = (d[i]! + coef * v[i]!) * scale;
    const d1 = (d[i + 1]! + coef * v[i + 1]!) * scale;
    const d2 = (d[i + 2]! + coef * v[i + 2]!) * scale;
    const d3 = (d[i + 3]! + coef * v[i + 3]!) * scale;
    d[i] = d0;
    d[i + 1] = d1;
    d[i + 2] = d2;
    d[i + 3] = d3;
    s0 += w[i]! * d0;
    s1 += w[i + 1]! * d1;
    s2 += w[i + 2]! * d2;
    s3 += w[i + 3]! * d3;
  }
  for (; i < n; i++) {
    d[i] = (d[i]! + coef * v[i]!) * scale;
    s0 += w[i]! * d[i]!;
  }
  return s0 + s1 + (s2 + s3);
}

/**
 * d = −H·g by the two-loop recursion, written so that each pass over the vectors also accumulates
 * the dot product the next step needs: a history of m pairs costs 2m + 1 passes instead of 4m + 3.
 * Returns g·d.
 */
function twoLoopDirection(
  g: Float64Array,
  hist: readonly Pair[],
  alpha: Float64Array,
  d: Float64Array,
): number {
  const h = hist.length;
  // d = −g, then the dot product the first step needs (g·d with no history: the slope).
  d.fill(0);
  let next = axpyThenDot(d, -1, g, h === 0 ? g : hist[h - 1]!.s);
  if (h === 0) return next;
  const gamma = hist[h - 1]!.gamma;
  // First loop, newest to oldest: pass k applies pair k's update and sums s_{k−1}·d for the next;
  // the oldest pair's pass also scales by gamma and sums y_0·d for the second loop's first step.
  for (let k = h - 1; k >= 0; k--) {
    const a = hist[k]!.rho * next;
    alpha[k] = a;
    const y = hist[k]!.y;
    next = k > 0 ? axpyThenDot(d, -a, y, hist[k - 1]!.s) : axpyThenDot(d, -a, y, hist[0]!.y, gamma);
  }
  // Second loop, oldest to newest: pass k applies pair k's update and sums y_{k+1}·d (or g·d last).
  for (let k = 0; k < h; k++) {
    const coef = alpha[k]! - hist[k]!.rho * next;
    next = axpyThenDot(d, coef, hist[k]!.s, k + 1 < h ? hist[k + 1]!.y : g);
  }
  return next;
}

/**
 * One pass after an accepted step: the new pair s = xNew − x, y = gNew − g into `s` and `y`, x and g
 * moved to the new point, and the pair's dot products and the new gradient's infinity norm.
 */
function moveAndPair(
  x: Float64Array,
  xNew: Float64Array,
  g: Float64Array,
  gNew: Float64Array,
  s: Float64Array,
  y: Float64Array,
): { sy: number; yy: number; gMax: number } {
  const n = x.length;
  let sy0 = 0;
  let sy1 = 0;
  let yy0 = 0;
  let yy1 = 0;
  let m = 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const s0 = xNew[i]! - x[i]!;
    const s1 = xNew[i + 1]! - x[i + 1]!;
    const g0 = gNew[i]!;
    const g1 = gNew[i + 1]!;
    const y0 = g0 - g[i]!;
    const y1 = g1 - g[i + 1]!;
    s[i] = s0;
    s[i + 1] = s1;
    y[i] = y0;
    y[i + 1] = y1;
    sy0 += s0 * y0;
    sy1 += s1 * y1;
    yy0 += y0 * y0;
    yy1 += y1 * y1;
    m = Math.max(m, Math.abs(g0), Math.abs(g1));
    x[i] = xNew[i]!;
    x[i + 1] = xNew[i + 1]!;
    g[i] = g0;
    g[i + 1] = g1;
  }
  for (; i < n; i++) {
    const si = xNew[i]! - x[i]!;
    const gi = gNew[i]!;
    const yi = gi - g[i]!;
    s[i] = si;
    y[i] = yi;
    sy0 += si * yi;
    yy0 += yi * yi;
    m = Math.max(m, Math.abs(gi));
    x[i] = xNew[i]!;
    g[i] = gi;
  }
  return { sy: sy0 + sy1, yy: yy0 + yy1, gMax: m };
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
    const { sy, yy, gMax: m } = moveAndPair(x, xNew, g, gNew, s, y);
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
