import type { TextModel } from '../model/model.js';

/*
 * The course's behavioural tests (tests/model/test_behavioral.py), with its example sentences.
 * As in the course, each sentence is the title and the description is empty.
 */
export interface BehavioralCase {
  kind: 'invariance' | 'directional' | 'minimum_functionality';
  inputs: string[];
  expected: string[];
}

const COURSE_BEHAVIORAL_CASES: readonly BehavioralCase[] = [
  {
    kind: 'invariance',
    inputs: [
      'Transformers applied to NLP have revolutionized machine learning.',
      'Transformers applied to NLP have disrupted machine learning.',
    ],
    expected: ['natural-language-processing', 'natural-language-processing'],
  },
  {
    kind: 'directional',
    inputs: ['ML applied to text classification.'],
    expected: ['natural-language-processing'],
  },
  { kind: 'directional', inputs: ['ML applied to image classification.'], expected: ['computer-vision'] },
  {
    kind: 'directional',
    inputs: ['CNNs for text classification.'],
    expected: ['natural-language-processing'],
  },
  {
    kind: 'minimum_functionality',
    inputs: ['Natural language processing is the next big wave in machine learning.'],
    expected: ['natural-language-processing'],
  },
  {
    kind: 'minimum_functionality',
    inputs: ['MLOps is the next big wave in machine learning.'],
    expected: ['mlops'],
  },
  { kind: 'minimum_functionality', inputs: ['This is about the weather.'], expected: ['other'] },
];

export interface BehavioralResult extends BehavioralCase {
  predicted: string[];
  pass: boolean;
}

export interface BehavioralReport {
  passed: number;
  failed: number;
  results: BehavioralResult[];
}

export function runBehavioralTests(
  model: TextModel,
  cases: readonly BehavioralCase[] = COURSE_BEHAVIORAL_CASES,
): BehavioralReport {
  const results = cases.map((c) => {
    const predicted = model
      .predictBatch(c.inputs.map((title) => ({ title, description: '' })))
      .map((p) => p.prediction);
    const pass = predicted.every((p, i) => p === c.expected[i]);
    return { ...c, predicted, pass };
  });
  const passed = results.filter((r) => r.pass).length;
  return { passed, failed: results.length - passed, results };
}
