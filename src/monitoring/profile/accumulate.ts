import { type CategoricalSummary, type FeatureSummary, TEXT_SAMPLE_SIZE } from '../reference-profile.js';
import type { FeatureValue, Observation } from './observe.js';
import { CategoricalAccumulator, NumericAccumulator, Reservoir } from './summaries.js';

type FeatureType = FeatureSummary['type'];
type Accumulator = NumericAccumulator | CategoricalAccumulator;

/** A stable 32-bit seed per feature name, so features do not share one sequence of draws. */
function seedOf(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** One group of named features (inputs or outputs), each summarised as the first value's type says. */
class FeatureGroup {
  private readonly byName = new Map<string, Accumulator>();

  constructor(
    private readonly seed: number,
    /** Types fixed in advance (the reference's), so both sides of a comparison agree. */
    private readonly types: Readonly<Record<string, FeatureType>>,
  ) {}

  add(values: Readonly<Record<string, FeatureValue>>): void {
    for (const name of Object.keys(values)) {
      const value = values[name]!;
      let acc = this.byName.get(name);
      if (acc === undefined) {
        const type: FeatureType | undefined =
          this.types[name] ??
          (value === null ? undefined : typeof value === 'number' ? 'numeric' : 'categorical');
        // A feature whose first values are all missing gets its type from its first real value.
        if (type === undefined) continue;
        acc =
          type === 'numeric' ? new NumericAccumulator(seedOf(this.seed, name)) : new CategoricalAccumulator();
        this.byName.set(name, acc);
      }
      if (acc instanceof NumericAccumulator) acc.add(typeof value === 'number' ? value : null);
      else acc.add(value === null ? null : String(value));
    }
  }

  summaries(): Record<string, FeatureSummary> {
    const out: Record<string, FeatureSummary> = {};
    for (const name of [...this.byName.keys()].sort()) out[name] = this.byName.get(name)!.summary();
    return out;
  }
}

export interface AccumulatedObservations {
  readonly items: number;
  readonly features: Record<string, FeatureSummary>;
  readonly outputs: Record<string, FeatureSummary>;
  /** Text models only: a sample of texts and the share of tokens outside the vocabulary given. */
  readonly text?: { readonly sample: string[]; readonly tokens: number; readonly oovRate: number | null };
}

/**
 * Summarises observations one at a time with memory bounded by the number of features, never by the
 * number of items: what makes a report over a million logged predictions possible.
 */
export class ObservationAccumulator {
  private items = 0;
  private readonly features: FeatureGroup;
  private readonly outputs: FeatureGroup;
  private readonly texts: Reservoir<string>;
  private tokens = 0;
  private oov = 0;
  private sawText = false;

  constructor(
    private readonly opts: {
      readonly seed: number;
      readonly featureTypes?: Readonly<Record<string, FeatureType>>;
      readonly outputTypes?: Readonly<Record<string, FeatureType>>;
      /** What "out of vocabulary" is measured against; absent: not measured. */
      readonly vocabulary?: ReadonlySet<string>;
    },
  ) {
    this.features = new FeatureGroup(opts.seed, opts.featureTypes ?? {});
    this.outputs = new FeatureGroup(opts.seed + 1, opts.outputTypes ?? {});
    this.texts = new Reservoir(TEXT_SAMPLE_SIZE, opts.seed + 2);
  }

  add(observation: Observation): void {
    this.items++;
    this.features.add(observation.features);
    this.outputs.add(observation.outputs);
    const text = observation.text;
    if (text !== undefined) {
      this.sawText = true;
      this.texts.offer(text.value);
      this.tokens += text.tokens.length;
      const vocabulary = this.opts.vocabulary;
      if (vocabulary !== undefined) for (const t of text.tokens) if (!vocabulary.has(t)) this.oov++;
    }
  }

  result(): AccumulatedObservations {
    const base = {
      items: this.items,
      features: this.features.summaries(),
      outputs: this.outputs.summaries(),
    };
    if (!this.sawText) return base;
    const oovRate = this.opts.vocabulary === undefined || this.tokens === 0 ? null : this.oov / this.tokens;
    return { ...base, text: { sample: [...this.texts.items], tokens: this.tokens, oovRate } };
  }
}

/** The types of a profile's features, to summarise a window the same way. */
export function typesOf(summaries: Readonly<Record<string, FeatureSummary>>): Record<string, FeatureType> {
  const out: Record<string, FeatureType> = {};
  for (const [name, s] of Object.entries(summaries)) out[name] = s.type;
  return out;
}

/** True labels as a categorical summary (the reference rows' `labels`). */
export function labelSummary(labels: readonly string[]): CategoricalSummary {
  const acc = new CategoricalAccumulator();
  for (const l of labels) acc.add(l);
  return acc.summary();
}
