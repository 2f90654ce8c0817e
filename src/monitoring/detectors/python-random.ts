import { finiteArray, finiteNumber, invalidDetector } from './detector-input.js';

/**
 * The Mersenne Twister (MT19937) seeded and sampled as CPython's `random.Random(seed)` does, so KSWIN
 * draws the very indices River's KSWIN draws for the same seed (River samples with
 * `random.Random(seed).sample(range(n), k)`). The state (624 words and a position) is plain numbers,
 * so it round-trips through JSON.
 */
const N = 624;
const M = 397;
const UPPER = 0x80000000;
const LOWER = 0x7fffffff;
const MATRIX_A = 0x9908b0df;

export interface PythonRandomState {
  readonly mt: readonly number[];
  readonly index: number;
}

export class PythonRandom {
  private readonly mt: Uint32Array;
  private index: number;

  private constructor(mt: Uint32Array, index: number) {
    this.mt = mt;
    this.index = index;
  }

  /** `random.Random(seed)` for a non-negative integer seed below 2^53 (CPython's init_by_array over its 32-bit words). */
  static seeded(seed: number): PythonRandom {
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw invalidDetector(`seed must be a non-negative integer, got ${seed}`);
    const key = seed >= 2 ** 32 ? [seed % 2 ** 32, Math.floor(seed / 2 ** 32)] : [seed];
    const mt = new Uint32Array(N);
    mt[0] = 19650218;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]!;
      mt[i] = Math.imul(1812433253, prev ^ (prev >>> 30)) + i;
    }
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1]!;
      mt[i] = (mt[i]! ^ Math.imul(prev ^ (prev >>> 30), 1664525)) + key[j]! + j;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1]!;
      mt[i] = (mt[i]! ^ Math.imul(prev ^ (prev >>> 30), 1566083941)) - i;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
    }
    mt[0] = UPPER;
    return new PythonRandom(mt, N);
  }

  static fromState(state: unknown): PythonRandom {
    const s = state as Partial<PythonRandomState> | null;
    const words = finiteArray(s?.mt, 'random words');
    const index = finiteNumber(s?.index, 'random index');
    if (words.length !== N || !words.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)) {
      throw invalidDetector('detector state: random words must be 624 unsigned 32-bit integers');
    }
    if (!Number.isInteger(index) || index < 0 || index > N)
      throw invalidDetector('detector state: random index');
    return new PythonRandom(Uint32Array.from(words), index);
  }

  toJSON(): PythonRandomState {
    return { mt: Array.from(this.mt), index: this.index };
  }

  /** CPython's genrand_uint32. */
  nextUint32(): number {
    const mt = this.mt;
    if (this.index >= N) {
      for (let k = 0; k < N; k++) {
        const y = (mt[k]! & UPPER) | (mt[(k + 1) % N]! & LOWER);
        mt[k] = mt[(k + M) % N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `getrandbits(k)` for 0 < k ≤ 32. */
  private bits(k: number): number {
    return this.nextUint32() >>> (32 - k);
  }

  /** `_randbelow(n)`: k = bit length of n, draw k bits until below n. */
  private below(n: number): number {
    if (n <= 0) return 0;
    const k = 32 - Math.clz32(n);
    let r = this.bits(k);
    while (r >= n) r = this.bits(k);
    return r;
  }

  /** `sample(range(n), k)`: k distinct indices in [0, n), in CPython's order (its pool or set method). */
  sampleRange(n: number, k: number): number[] {
    if (k < 0 || k > n || n >= 2 ** 31) throw invalidDetector(`cannot sample ${k} of ${n}`);
    let setSize = 21;
    if (k > 5) setSize += 4 ** Math.ceil(Math.log(k * 3) / Math.log(4));
    const result = new Array<number>(k);
    if (n <= setSize) {
      const pool = new Int32Array(n);
      for (let i = 0; i < n; i++) pool[i] = i;
      for (let i = 0; i < k; i++) {
        const j = this.below(n - i);
        result[i] = pool[j]!;
        pool[j] = pool[n - i - 1]!;
      }
      return result;
    }
    const selected = new Set<number>();
    for (let i = 0; i < k; i++) {
      let j = this.below(n);
      while (selected.has(j)) j = this.below(n);
      selected.add(j);
      result[i] = j;
    }
    return result;
  }
}
