/*
 * Two-sample Kolmogorov–Smirnov test, two-sided, as scipy.stats.ks_2samp(method='auto') computes it
 * (scipy 1.17): the exact null distribution when both samples have at most 10 000 values (scipy's
 * MAX_AUTO_N on max(n1, n2); not n1·n2), else Smirnov's asymptotic form kstwo.sf(D, round(n1·n2/(n1+n2))).
 * D handles ties the way scipy's searchsorted(side='right') does: both empirical CDFs are compared
 * after every run of equal values, never inside one. The exact p-value assumes continuous data,
 * as scipy's does.
 */

const MAX_EXACT_N = 10000;

export interface KsResult {
  readonly statistic: number;
  readonly pValue: number;
}

/** Both samples ascending and finite; neither empty (the caller decides what an empty side means). */
export function ks2samp(a: readonly number[], b: readonly number[]): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('ks2samp needs two non-empty samples');
  const h = maxCdfGap(a, b); // D · n1 · n2, an integer
  const d = h / n1 / n2;
  if (Math.max(n1, n2) <= MAX_EXACT_N) {
    const exact = exactPValue(n1, n2, d);
    if (exact !== undefined) return { statistic: exact.d, pValue: exact.p };
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  return { statistic: d, pValue: clip01(kolmogorovSf(Math.round((m * n) / (m + n)), d)) };
}

/** max |c1·n2 − c2·n1| over the values of both samples, with c the counts ≤ value. */
function maxCdfGap(a: readonly number[], b: readonly number[]): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let best = 0;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    while (i < n1 && a[i]! <= v) i++;
    while (j < n2 && b[j]! <= v) j++;
    const gap = Math.abs(i * n2 - j * n1);
    if (gap > best) best = gap;
  }
  return best;
}

function gcd(x: number, y: number): number {
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** scipy's _attempt_exact_2kssamp: D snapped to the lattice of 1/lcm(n1, n2), then P(D ≥ d). */
function exactPValue(n1: number, n2: number, d: number): { d: number; p: number } | undefined {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = Math.round(d * lcm);
  const snapped = h / lcm;
  if (h === 0) return { d: snapped, p: 1 };
  const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h);
  if (!(p >= 0 && p <= 1)) return undefined;
  return { d: snapped, p };
}

/** scipy's _compute_prob_outside_square: P(D_{n,n} ≥ h/n) by a Horner-like alternating sum. */
function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    p = p1 * (1 - p);
  }
  return 2 * p;
}

/**
 * P(D ≥ h/lcm) for n1 ≠ n2: one minus the probability that a uniformly random lattice path from
 * (0,0) to (m,n) stays strictly inside |x·n/g − y·m/g| < h. The path is walked as a hypergeometric
 * random walk (probabilities, not path counts), so nothing overflows; only the band is visited.
 */
function probOutsideBand(n1: number, n2: number, g: number, h: number): number {
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const mg = m / g;
  const ng = n / g;
  let col = new Float64Array(n + 1); // reach probabilities of column x, indexed by y
  let next = new Float64Array(n + 1);
  let lo = 0;
  let hi = Math.min(n, Math.ceil(h / mg) - 1); // y with |0 − y·mg| < h
  col[0] = 1;
  for (let y = 1; y <= hi; y++) col[y] = (col[y - 1]! * (n - y + 1)) / (m + n - y + 1);
  for (let x = 1; x <= m; x++) {
    // y inside the band for this x: x·ng − h < y·mg < x·ng + h
    const nlo = Math.max(0, Math.floor((x * ng - h) / mg) + 1);
    const nhi = Math.min(n, Math.ceil((x * ng + h) / mg) - 1);
    if (nhi < nlo) return 1;
    next.fill(0, nlo, nhi + 1);
    for (let y = nlo; y <= nhi; y++) {
      // from (x−1, y) by an x step, then from (x, y−1) by a y step
      let v = 0;
      if (y >= lo && y <= hi) v += (col[y]! * (m - x + 1)) / (m + n - x + 1 - y);
      if (y > nlo) v += (next[y - 1]! * (n - y + 1)) / (m + n - x - y + 1);
      next[y] = v;
    }
    [col, next] = [next, col];
    col.fill(0, 0, nlo);
    lo = nlo;
    hi = nhi;
  }
  return 1 - col[n]!; // (m, n) is always inside: |m·ng − n·mg| = 0
}

function clip01(p: number): number {
  return Math.min(1, Math.max(0, p));
}

/*
 * kstwo.sf(x, n): the two-sided one-sample Kolmogorov distribution's survival function, following
 * scipy's _kolmogn (Simard & L'Ecuyer 2011): Ruben–Gambino at the ends, 2·smirnov where scipy uses
 * it (x ≥ 0.5, or n·x² large), the Durbin matrix (Marsaglia–Tsang–Wang) for small n·x², Pelz–Good
 * for large n. scipy's Pomeranz branch (n ≤ 140, 0.75 < n·x² ≤ 4) is replaced by the Durbin matrix:
 * both are exact, so they agree to rounding.
 */
export function kolmogorovSf(n: number, x: number): number {
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let prob = 1;
    for (let i = 1; i <= n; i++) prob *= (i / n) * (2 * t - 1);
    return 1 - prob;
  }
  if (t >= n - 1) return 2 * (1 - x) ** n;
  if (x >= 0.5) return 2 * smirnovSf(n, x);
  const nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 4) return 1 - durbinCdf(n, x);
    return 2 * smirnovSf(n, x);
  }
  if (nx2 >= 370) return 0;
  if (nx2 >= 2.2) return 2 * smirnovSf(n, x);
  if (n <= 100000 && n * x ** 1.5 <= 1.4) return 1 - durbinCdf(n, x);
  return pelzGoodSf(n, x);
}

/** P(D⁺_n ≥ x), Birnbaum–Tingey's exact sum, each term in logs (all terms are positive). */
function smirnovSf(n: number, x: number): number {
  const last = Math.floor(n * (1 - x));
  let logBinom = 0;
  let sum = 0;
  for (let j = 0; j <= last; j++) {
    if (j > 0) logBinom += Math.log((n - j + 1) / j);
    const a = 1 - x - j / n;
    if (a <= 0) break;
    sum += Math.exp(logBinom + (n - j) * Math.log(a) + (j - 1) * Math.log(x + j / n));
  }
  return x * sum;
}

const E128 = 2 ** 128;
const EM128 = 2 ** -128;

/** scipy's _kolmogn_DMTW: P(D_n ≤ d) from the k-th diagonal entry of H^n, scaled against overflow. */
function durbinCdf(n: number, d: number): number {
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  let H: Float64Array = new Float64Array(m * m);
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1]!;
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r]!;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c]!;
  let P: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) P[i * m + i] = 1;
  let nn = n;
  let expnt = 0;
  let hExpnt = 0;
  while (nn > 0) {
    if (nn % 2 === 1) {
      P = matmul(P, H, m);
      expnt += hExpnt;
    }
    H = matmul(H, H, m);
    hExpnt *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]!) > E128) {
      for (let i = 0; i < H.length; i++) H[i] = H[i]! / E128;
      hExpnt += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = P[(k - 1) * m + (k - 1)]!;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= E128;
      expnt -= 128;
    }
  }
  return clip01(p * 2 ** expnt);
}

function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j] = out[i * m + j]! + aik * b[k * m + j]!;
    }
  }
  return out;
}

const PI2 = Math.PI ** 2;
const PI4 = Math.PI ** 4;
const PI6 = Math.PI ** 6;
const SQRT2PI = Math.sqrt(2 * Math.PI);

/** scipy's _kolmogn_PelzGood with cdf=False. */
function pelzGoodSf(n: number, x: number): number {
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -PI2 / 8 / z2;
  if (qlog < -708) return 1;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const mm = 2 * k - 1;
    const m2 = mm * mm;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qp = q ** (8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) K[i] = K[i]! * qp + coeffs[i]!;
  }
  const div = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = (K[i]! * q * SQRT2PI) / div[i]!;
  q = Math.exp(-PI2 / 2 / z2);
  const sqrt3z = Math.sqrt(3) * z;
  let k2extra = 0;
  let k3extra = 0;
  for (let k = maxk; k > 0; k--) {
    const k2 = k * k;
    const qp = q ** k2;
    k2extra += k2 * qp;
    const kpi = Math.PI * k;
    k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qp;
  }
  K[2] = K[2]! + (k2extra * PI2 * SQRT2PI) / (-36 * z ** 3);
  K[3] = K[3]! + (k3extra * PI2 * SQRT2PI) / (216 * z6);
  let sum = 1;
  for (let i = 0; i < 4; i++) sum -= K[i]! / n ** (i / 2);
  return clip01(sum);
}
