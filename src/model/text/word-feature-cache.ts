/**
 * The vocabulary features of a word's character n-grams, memoized by word. A word's character
 * n-grams depend on the word alone, and request texts share most of their words, so the request
 * path looks each known word up once instead of hashing and looking up its ~20 n-grams (the
 * tokenizer caches of BPE libraries do the same). A hit is exact: the word's characters are
 * compared, not only its hash. Bounded: when a pool is full the cache starts again empty.
 * Not re-entrant; one per transformer.
 */
export class WordFeatureCache {
  /** slot → 1 + entry, or 0 when empty; slots are found by the word hash (open addressing). */
  private readonly slots: Int32Array;
  private readonly slotHashes: Int32Array;
  private readonly mask: number;
  private readonly shift: number;
  /** Per entry: where its characters and its features start in the pools, and how many. */
  private readonly charStart: Int32Array;
  private readonly charCount: Int32Array;
  private readonly featureStart: Int32Array;
  private readonly featureCount: Int32Array;
  private readonly chars: Uint16Array;
  /** Feature indices of every entry, each entry's in n-gram order (with repeats, as counted). */
  readonly features: Int32Array;
  private entries = 0;
  private charsUsed = 0;
  private featuresUsed = 0;

  /**
   * @param words entries at most before it starts again
   * @param maxWordLength longer words are not cached (they are rare, and would fill the pools)
   */
  constructor(
    private readonly words = 4096,
    readonly maxWordLength = 24,
    featuresPerWord = 24,
  ) {
    let capacity = 16;
    while (capacity < words * 2) capacity *= 2;
    this.slots = new Int32Array(capacity);
    this.slotHashes = new Int32Array(capacity);
    this.mask = capacity - 1;
    this.shift = 32 - Math.log2(capacity);
    this.charStart = new Int32Array(words);
    this.charCount = new Int32Array(words);
    this.featureStart = new Int32Array(words);
    this.featureCount = new Int32Array(words);
    this.chars = new Uint16Array(words * 12);
    this.features = new Int32Array(words * featuresPerWord);
  }

  /** The entry of the word `text[from, to)` with word hash `hash`, or -1. */
  find(text: string, from: number, to: number, hash: number): number {
    const { slots, slotHashes } = this;
    let slot = Math.imul(hash, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const e = slots[slot]! - 1;
      if (e < 0) return -1;
      if (slotHashes[slot] === hash && this.sameWord(e, text, from, to)) return e;
      slot = (slot + 1) & this.mask;
    }
  }

  /** Where entry `e`'s features start in `features`. */
  start(e: number): number {
    return this.featureStart[e]!;
  }

  /** How many features entry `e` has. */
  count(e: number): number {
    return this.featureCount[e]!;
  }

  /**
   * Stores the word's features (`features[0, n)`); returns its entry, or -1 when it is not kept (too
   * long, or more features than a pool holds). Call only after `find` missed.
   */
  add(text: string, from: number, to: number, hash: number, features: Int32Array, n: number): number {
    const length = to - from;
    if (length > this.maxWordLength || n > this.features.length) return -1;
    if (
      this.entries === this.words ||
      this.charsUsed + length > this.chars.length ||
      this.featuresUsed + n > this.features.length
    )
      this.clear();
    const e = this.entries++;
    this.charStart[e] = this.charsUsed;
    this.charCount[e] = length;
    for (let i = 0; i < length; i++) this.chars[this.charsUsed + i] = text.charCodeAt(from + i);
    this.charsUsed += length;
    this.featureStart[e] = this.featuresUsed;
    this.featureCount[e] = n;
    this.features.set(features.subarray(0, n), this.featuresUsed);
    this.featuresUsed += n;
    let slot = Math.imul(hash, 0x9e3779b1) >>> this.shift;
    while (this.slots[slot] !== 0) slot = (slot + 1) & this.mask;
    this.slots[slot] = e + 1;
    this.slotHashes[slot] = hash;
    return e;
  }

  /** Words held now. */
  get size(): number {
    return this.entries;
  }

  private clear(): void {
    this.slots.fill(0);
    this.entries = 0;
    this.charsUsed = 0;
    this.featuresUsed = 0;
  }

  private sameWord(e: number, text: string, from: number, to: number): boolean {
    const length = this.charCount[e]!;
    if (length !== to - from) return false;
    const at = this.charStart[e]!;
    for (let i = 0; i < length; i++) if (this.chars[at + i] !== text.charCodeAt(from + i)) return false;
    return true;
  }
}
