/**
 * The distribution functions the tests need: normal, Student t, chi-square and beta. Upper tails
 * (`…Sf`) are computed directly rather than as 1 − CDF so small p-values keep their digits.
 */
import { erfc, logBeta, logGamma, regularizedBeta, regularizedGammaQ } from '../../core/special-functions.js';

const SQRT2 = Math.SQRT2;

export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / SQRT2);
}

export function normalSf(z: number): number {
  return 0.5 * erfc(z / SQRT2);
}

function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

// Acklam's rational approximation (relative error 1.15e-9), then one Halley step against the
// accurate CDF, which brings it to machine precision.
const A = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
  2.506628277459239,
];
const B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

/** Φ⁻¹(p), the standard normal quantile. */
export function normalQuantile(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  let x: number;
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((C[0]! * q + C[1]!) * q + C[2]!) * q + C[3]!) * q + C[4]!) * q + C[5]!) /
      ((((D[0]! * q + D[1]!) * q + D[2]!) * q + D[3]!) * q + 1);
  } else if (p <= 1 - P_LOW) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((A[0]! * r + A[1]!) * r + A[2]!) * r + A[3]!) * r + A[4]!) * r + A[5]!) * q) /
      (((((B[0]! * r + B[1]!) * r + B[2]!) * r + B[3]!) * r + B[4]!) * r + 1);
  } else {
    return -normalQuantile(1 - p);
  }
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** Beyond this many degrees of freedom t and the normal differ by less than 1e-8. */
const T_NORMAL_DF = 1e8;

/** P(T > t) for Student's t with `df` (> 0, not necessarily integer) degrees of freedom. */
export function studentTSf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return Number.NaN;
  if (df > T_NORMAL_DF) return normalSf(t);
  const t2 = t * t;
  // I_{ν/(ν+t²)}(ν/2, ½) is the two-sided tail; the complement is passed exactly.
  const twoSided = regularizedBeta(df / (df + t2), df / 2, 0.5, t2 / (df + t2));
  return t > 0 ? 0.5 * twoSided : 1 - 0.5 * twoSided;
}

export function studentTCdf(t: number, df: number): number {
  return studentTSf(-t, df);
}

function studentTPdf(t: number, df: number): number {
  if (df > T_NORMAL_DF) return normalPdf(t);
  return Math.exp(
    logGamma((df + 1) / 2) -
      logGamma(df / 2) -
      0.5 * Math.log(df * Math.PI) -
      ((df + 1) / 2) * Math.log1p((t * t) / df),
  );
}

/**
 * The t quantile: Newton's method on the CDF from the normal quantile, kept inside a bracket (and
 * bisecting when a step would leave it) because for df near 1 the heavy tails make bare Newton
 * overshoot.
 */
export function studentTQuantile(p: number, df: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1 || !(df > 0)) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p > 0.5) return -studentTQuantile(1 - p, df);
  if (p === 0.5) return 0;
  if (df > T_NORMAL_DF) return normalQuantile(p);
  // Solve on the lower tail (t < 0), where cdf values near p keep full relative precision.
  let lo = -1;
  while (studentTCdf(lo, df) > p) lo *= 2;
  let hi = 0;
  let x = Math.min(normalQuantile(p), -1e-3);
  if (!(x > lo && x < hi)) x = (lo + hi) / 2;
  for (let i = 0; i < 200; i++) {
    const f = studentTCdf(x, df) - p;
    if (f === 0) return x;
    if (f > 0) hi = x;
    else lo = x;
    const step = f / studentTPdf(x, df);
    let next = x - step;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - x) <= 1e-14 * Math.max(1, Math.abs(x))) return next;
    x = next;
  }
  return x;
}

/** P(X > x) for a chi-square with k degrees of freedom. */
export function chiSquareSf(x: number, k: number): number {
  if (!(k > 0) || Number.isNaN(x)) return Number.NaN;
  return regularizedGammaQ(k / 2, x / 2);
}

export function betaCdf(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  return regularizedBeta(x, a, b);
}

export function betaSf(x: number, a: number, b: number): number {
  if (x <= 0) return 1;
  if (x >= 1) return 0;
  // I_x(a,b) = 1 − I_{1−x}(b,a): computing the complement directly keeps the tail's digits.
  return regularizedBeta(1 - x, b, a, x);
}

export function betaPdf(x: number, a: number, b: number): number {
  if (x < 0 || x > 1) return 0;
  if (x === 0) return a === 1 ? b : a < 1 ? Number.POSITIVE_INFINITY : 0;
  if (x === 1) return b === 1 ? a : b < 1 ? Number.POSITIVE_INFINITY : 0;
  return Math.exp((a - 1) * Math.log(x) + (b - 1) * Math.log1p(-x) - logBeta(a, b));
}
