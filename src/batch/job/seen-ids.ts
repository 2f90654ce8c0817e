/**
 * The ids an input has shown so far, for the duplicate check: a 64-bit hash of each id and the line
 * it was first seen on (12 bytes a slot) in an open-addressing table kept at most half full, so
 * 1,000,000 ids take 25 MB instead of the ~80 MB of a Set of strings. Two different ids are taken
 * for one with probability about n² / 2^65 (3·10⁻⁸ for a million ids).
 */
export class SeenIds {
  private slots: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(initialCapacity = 1 << 14) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.slots = new Uint32Array(capacity * 3);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  /**
   * Records `id` first seen on `line`. Returns undefined when it is new, or the line it was first
   * seen on when it is a duplicate.
   */
  add(id: string, line: number): number | undefined {
    const [h1, h2] = hash64(id);
    const found = this.find(this.slots, this.mask, h1, h2);
    if (this.slots[found + 1] !== 0) return this.slots[found + 2];
    this.slots[found] = h1;
    this.slots[found + 1] = h2;
    this.slots[found + 2] = Math.min(line, 0xffffffff);
    this.count++;
    if (this.count * 2 > this.mask + 1) this.grow();
    return undefined;
  }

  has(id: string): boolean {
    const [h1, h2] = hash64(id);
    return this.slots[this.find(this.slots, this.mask, h1, h2) + 1] !== 0;
  }

  /** The offset of the slot holding (h1, h2), or of the empty slot where it belongs. h2 is never 0. */
  private find(slots: Uint32Array, mask: number, h1: number, h2: number): number {
    let i = h1 & mask;
    for (;;) {
      const at = i * 3;
      const s2 = slots[at + 1]!;
      if (s2 === 0 || (s2 === h2 && slots[at] === h1)) return at;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    const capacity = (this.mask + 1) * 2;
    const slots = new Uint32Array(capacity * 3);
    const mask = capacity - 1;
    for (let at = 0; at < old.length; at += 3) {
      if (old[at + 1] === 0) continue;
      const to = this.find(slots, mask, old[at]!, old[at + 1]!);
      slots[to] = old[at]!;
      slots[to + 1] = old[at + 1]!;
      slots[to + 2] = old[at + 2]!;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

/** Two 32-bit halves of a 64-bit string hash (cyrb53's mixing, both halves kept); h2 is never 0. */
export function hash64(s: string): [number, number] {
  let h1 = 0xdeadbeef ^ s.length;
  let h2 = 0x41c6ce57 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [h1 >>> 0, h2 >>> 0 || 1];
}
