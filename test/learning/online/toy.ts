import type { TextInput } from '../../../src/model/model.js';

/**
 * A separable toy stream: texts of three words from one topic's vocabulary, labeled with the
 * topic (or with `labels` mapping a topic to another label: the same texts under other labels,
 * the drift the guardrails must see). Deterministic: the i-th example depends on i only.
 */
const TOPICS = {
  cats: ['whiskers', 'meow', 'kitten', 'purr', 'feline', 'litter', 'tabby', 'catnip'],
  cars: ['engine', 'wheel', 'motor', 'brake', 'sedan', 'gearbox', 'exhaust', 'piston'],
  boats: ['hull', 'sail', 'anchor', 'keel', 'harbor', 'rudder', 'mast', 'dinghy'],
} as const;
export type Topic = keyof typeof TOPICS;

export interface ToyExample extends TextInput {
  readonly label: string;
}

function toyExample(
  i: number,
  topics: readonly Topic[] = ['cats', 'cars'],
  labels: Partial<Record<Topic, string>> = {},
): ToyExample {
  const topic = topics[i % topics.length]!;
  const words = TOPICS[topic];
  const pick = (k: number) => words[(i * 7 + k * 3 + Math.floor(i / 5)) % words.length]!;
  return {
    title: `${pick(0)} ${pick(1)}`,
    description: `about the ${pick(2)}`,
    label: labels[topic] ?? topic,
  };
}

export function toyExamples(
  from: number,
  count: number,
  topics?: readonly Topic[],
  labels?: Partial<Record<Topic, string>>,
): ToyExample[] {
  return Array.from({ length: count }, (_, k) => toyExample(from + k, topics, labels));
}
