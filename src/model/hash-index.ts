/**
 * A read-only open-addressing table from 32-bit feature hashes to dense feature indices, in typed
 * arrays: faster than a Map on the request path and built once when a model loads. Each slot is a
 * (key, value) pair side by side in one array, so a probe reads one cache line instead of two.
 */
export class HashIndex {
  /** slots[2s] = key, slots[2s + 1] = feature index, or -1 for an empty slot. */
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly shift: number;

  constructor(hashes: Int32Array) {
    let capacity = 16;
    while (capacity < hashes.length * 2) capacity *= 2;
    this.slots = new Int32Array(capacity * 2);
    for (let s = 0; s < capacity; s++) this.slots[2 * s + 1] = -1;
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
    for (let i = 0; i < hashes.length; i++) {
      let slot = this.slotOf(hashes[i]!);
      while (this.slots[2 * slot + 1] !== -1) slot = (slot + 1) & this.mask;
      this.slots[2 * slot] = hashes[i]!;
      this.slots[2 * slot + 1] = i;
    }
  }

  get(hash: number): number {
    const slots = this.slots;
    let slot = this.slotOf(hash);
    for (;;) {
      const v = slots[2 * slot + 1]!;
      if (v === -1 || slots[2 * slot] === hash) return v;
      slot = (slot + 1) & this.mask;
    }
  }

  private slotOf(hash: number): number {
    // Fibonacci hashing spreads FNV's low bits, which cluster for short n-grams.
    return Math.imul(hash, 0x9e3779b1) >>> this.shift;
  }
}
