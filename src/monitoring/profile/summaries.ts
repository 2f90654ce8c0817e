import { seededRandom } from '../../core/random.js';
import {
  type CategoricalSummary,
  MAX_CATEGORIES,
  type NumericSummary,
  OTHER_CATEGORY,
  PROFILE_SAMPLE_SIZE,
} from '../reference-profile.js';

/*
 * Incremental summaries with bounded memory, whatever the number of values: what both a reference
 * profile and a window of the prediction log (possibly millions of items) are reduced to.
 */

/** Algorithm R: a uniform sample of at most `capacity` of the values offered, seeded. */
export class Reservoir<T> {
  readonly items: T[] = [];
  private seen = 0;
  private readonly random: () => number;

  constructor(
    private readonly capacity: number,
    seed: number,
  ) {
    this.random = seededRandom(seed);
  }

  offer(value: T): void {
    this.seen++;
    if (this.items.length < this.capacity) {
      this.items.push(value);
      return;
    }
    const j = Math.floor(this.random() * this.seen);
    if (j < this.capacity) this.items[j] = value;
  }
}

/** Count, mean and variance by Welford's update (stable over millions of values), extremes, a sample. */
export class NumericAccumulator {
  private count = 0;
  private missing = 0;
  private mean = 0;
  private m2 = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private readonly sample: Reservoir<number>;

  constructor(seed: number, capacity = PROFILE_SAMPLE_SIZE) {
    this.sample = new Reservoir(capacity, seed);
  }

  add(value: number | null): void {
    if (value === null || !Number.isFinite(value)) {
      this.missing++;
      return;
    }
    this.count++;
    const delta = value - this.mean;
    this.mean += delta / this.count;
    this.m2 += delta * (value - this.mean);
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.sample.offer(value);
  }

  summary(): NumericSummary {
    const empty = this.count === 0;
    return {
      type: 'numeric',
      count: this.count,
      missing: this.missing,
      sample: [...this.sample.items].sort((a, b) => a - b),
      // No value seen: zeros rather than NaN/Infinity, which JSON cannot carry; `count` says why.
      mean: empty ? 0 : this.mean,
      std: this.count > 1 ? Math.sqrt(this.m2 / (this.count - 1)) : 0,
      min: empty ? 0 : this.min,
      max: empty ? 0 : this.max,
    };
  }
}

/**
 * Distinct categories tracked before new ones go straight to OTHER_CATEGORY: bounds memory on a
 * feature with unbounded values (ids, free text), while a few hundred real categories stay exact.
 */
const TRACKED_CATEGORIES = MAX_CATEGORIES * 10;
/** A category value is cut to this many characters (a BYTES input may hold a whole document). */
const MAX_CATEGORY_LENGTH = 200;

export class CategoricalAccumulator {
  private count = 0;
  private missing = 0;
  private readonly counts = new Map<string, number>();

  add(value: string | null): void {
    if (value === null) {
      this.missing++;
      return;
    }
    this.count++;
    const key = value.length > MAX_CATEGORY_LENGTH ? value.slice(0, MAX_CATEGORY_LENGTH) : value;
    const known = this.counts.get(key);
    if (known !== undefined) this.counts.set(key, known + 1);
    else if (this.counts.size < TRACKED_CATEGORIES) this.counts.set(key, 1);
    else this.counts.set(OTHER_CATEGORY, (this.counts.get(OTHER_CATEGORY) ?? 0) + 1);
  }

  summary(): CategoricalSummary {
    return {
      type: 'categorical',
      count: this.count,
      missing: this.missing,
      counts: capCategories(this.counts),
    };
  }
}

/** The MAX_CATEGORIES most frequent categories (ties by name), the rest summed under OTHER_CATEGORY. */
function capCategories(counts: ReadonlyMap<string, number>): Record<string, number> {
  const entries = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Record<string, number> = {};
  let other = 0;
  for (const [i, [name, n]] of entries.entries()) {
    if (name === OTHER_CATEGORY || i >= MAX_CATEGORIES) other += n;
    else out[name] = n;
  }
  if (other > 0) out[OTHER_CATEGORY] = other;
  return out;
}
