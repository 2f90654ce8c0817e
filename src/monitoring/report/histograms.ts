import {
  type CategoricalSummary,
  type FeatureSummary,
  type NumericSummary,
  OTHER_CATEGORY,
} from '../reference-profile.js';

/** Shares per bin of the reference's and the current sample, over one set of equal-width bins. */
export interface NumericHistogram {
  readonly type: 'numeric';
  /** bins + 1 edges, ascending. */
  readonly edges: readonly number[];
  readonly reference: readonly number[];
  readonly current: readonly number[];
}

/** Shares of the most common categories (of both sides together), the rest as OTHER_CATEGORY. */
export interface CategoricalHistogram {
  readonly type: 'categorical';
  readonly categories: readonly string[];
  readonly reference: readonly number[];
  readonly current: readonly number[];
}

export type Histogram = NumericHistogram | CategoricalHistogram;

const BINS = 20;
const SHOWN_CATEGORIES = 20;

export function histogramOf(reference: FeatureSummary, current: FeatureSummary): Histogram | null {
  if (reference.type === 'numeric' && current.type === 'numeric') return numericHistogram(reference, current);
  if (reference.type === 'categorical' && current.type === 'categorical')
    return categoricalHistogram(reference, current);
  return null;
}

function numericHistogram(reference: NumericSummary, current: NumericSummary): NumericHistogram {
  const values = [reference, current].filter((s) => s.sample.length > 0);
  const lo = Math.min(...values.map((s) => s.sample[0]!));
  const hi = Math.max(...values.map((s) => s.sample.at(-1)!));
  // One value everywhere: one bin around it rather than bins of width 0.
  const width = hi > lo ? (hi - lo) / BINS : 1;
  const bins = hi > lo ? BINS : 1;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (hi > lo ? lo + i * width : lo - 0.5 + i));
  const shares = (sample: readonly number[]) => {
    const counts = new Array<number>(bins).fill(0);
    for (const v of sample) {
      const i = hi > lo ? Math.min(bins - 1, Math.floor((v - lo) / width)) : 0;
      counts[i]!++;
    }
    return counts.map((c) => (sample.length === 0 ? 0 : c / sample.length));
  };
  return { type: 'numeric', edges, reference: shares(reference.sample), current: shares(current.sample) };
}

function categoricalHistogram(
  reference: CategoricalSummary,
  current: CategoricalSummary,
): CategoricalHistogram {
  const share = (s: CategoricalSummary, name: string) => {
    const total = Object.values(s.counts).reduce((a, b) => a + b, 0);
    return total === 0 ? 0 : (s.counts[name] ?? 0) / total;
  };
  const names = [...new Set([...Object.keys(reference.counts), ...Object.keys(current.counts)])].filter(
    (n) => n !== OTHER_CATEGORY,
  );
  names.sort(
    (a, b) =>
      share(reference, b) + share(current, b) - (share(reference, a) + share(current, a)) || (a < b ? -1 : 1),
  );
  const shown = names.slice(0, SHOWN_CATEGORIES);
  const rest = (s: CategoricalSummary) =>
    s.count === 0 ? 0 : Math.max(0, 1 - shown.reduce((a, n) => a + share(s, n), 0));
  const hasRest = rest(reference) > 1e-12 || rest(current) > 1e-12;
  return {
    type: 'categorical',
    categories: hasRest ? [...shown, OTHER_CATEGORY] : shown,
    reference: [...shown.map((n) => share(reference, n)), ...(hasRest ? [rest(reference)] : [])],
    current: [...shown.map((n) => share(current, n)), ...(hasRest ? [rest(current)] : [])],
  };
}
