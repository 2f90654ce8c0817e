/**
 * A read-only open-addressing table from 32-bit feature hashes to dense feature indices, in typed
 * arrays: faster than a Map on the request path and built once when a model loads.
 */
export class HashIndex {
  private readonly keys: Int32Array;
  private readonly values: Int32Array;
  private readonly mask: number;
  private readonly shift: number;

  constructor(hashes: Int32Array) {
    let capacity = 16;
    while (capacity < hashes.length * 2) capacity *= 2;
    this.keys = new Int32Array(capacity);
    this.values = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
    for (let i = 0; i < hashes.length; i++) {
      let slot = this.slotOf(hashes[i]!);
      while (this.values[slot] !== -1) slot = (slot + 1) & this.mask;
      this.keys[slot] = hashes[i]!;
      this.values[slot] = i;
    }
  }

  get(hash: number): number {
    let slot = this.slotOf(hash);
    for (;;) {
      const v = this.values[slot]!;
      if (v === -1 || this.keys[slot] === hash) return v;
      slot = (slot + 1) & this.mask;
    }
  }

  private slotOf(hash: number): number {
    // Fibonacci hashing spreads FNV's low bits, which cluster for short n-grams.
    return Math.imul(hash, 0x9e3779b1) >>> this.shift;
  }
}
