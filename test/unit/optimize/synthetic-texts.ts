import { seededRandom } from '../../../src/core/random.js';
import type { LabeledProject } from '../../../src/train/dataset.js';

const VOCAB: Record<string, string[]> = {
  vision: ['image', 'pixels', 'segmentation', 'detection', 'camera', 'convolution'],
  language: ['text', 'tokens', 'translation', 'sentiment', 'transformer', 'corpus'],
  mlops: ['deployment', 'monitoring', 'pipeline', 'serving', 'latency', 'registry'],
};
const SHARED = ['model', 'learning', 'training', 'dataset', 'python', 'library', 'fast', 'simple'];

/** Small labeled texts: each class has its own words, mixed with shared ones (and a little noise). */
export function syntheticProjects(n: number, seed: number): LabeledProject[] {
  const rand = seededRandom(seed);
  const tags = Object.keys(VOCAB);
  const pick = (list: readonly string[]) => list[Math.floor(rand() * list.length)]!;
  return Array.from({ length: n }, (_, i) => {
    const tag = tags[i % tags.length]!;
    // One word in six comes from another class, so the problem is not trivially separable.
    const word = () => (rand() < 0.5 ? pick(SHARED) : pick(VOCAB[rand() < 0.83 ? tag : pick(tags)]!));
    return {
      id: String(i),
      title: `${word()} ${word()}`,
      description: Array.from({ length: 6 }, word).join(' '),
      tag,
      line: i + 2,
    };
  });
}
