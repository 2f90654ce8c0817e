import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DetectorName } from '../../../src/monitoring/detector-types.js';
import { createDetector, type DetectorParams } from '../../../src/monitoring/detectors/index.js';
import { ksTwoSample } from '../../../src/monitoring/detectors/ks-two-sample.js';
import { PythonRandom } from '../../../src/monitoring/detectors/python-random.js';

/** Expected values from fixtures/make_river_cases.py (Python: CPython's random, scipy; River's docs). */
interface RiverCases {
  doc_stream: number[];
  doc_expected: { adwin: number; page_hinkley: number; kswin_alpha_0_0001_seed_42: number };
  random: Record<string, { words: number[]; sample70of30: number[]; sample1000of30: number[] }>;
  ks: { a: number[]; b: number[]; statistic: number; pValue: number }[];
  streams: Record<string, number[]>;
  adwin: Record<string, number[]>;
  adwin_clock_1: Record<string, number[]>;
  page_hinkley: Record<string, number[]>;
  page_hinkley_up: Record<string, number[]>;
  kswin: Record<string, number[]>;
  kswin_seed_1: Record<string, number[]>;
}

const cases = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'river-cases.json'), 'utf8'),
) as RiverCases;

function detections(name: DetectorName, stream: readonly number[], params: DetectorParams = {}): number[] {
  const detector = createDetector(name, params);
  const hits: number[] = [];
  stream.forEach((value, i) => {
    if (detector.update(value)) hits.push(i);
  });
  return hits;
}

describe('River-comparable cases', () => {
  it('finds the first drift of River docstrings stream where River documents it', () => {
    expect(detections('adwin', cases.doc_stream)[0]).toBe(cases.doc_expected.adwin);
    expect(detections('page-hinkley', cases.doc_stream)[0]).toBe(cases.doc_expected.page_hinkley);
    expect(detections('kswin', cases.doc_stream, { alpha: 0.0001, seed: 42 })[0]).toBe(
      cases.doc_expected.kswin_alpha_0_0001_seed_42,
    );
  });

  it('draws the words and samples of CPython random.Random(seed)', () => {
    for (const [seed, expected] of Object.entries(cases.random)) {
      const random = PythonRandom.seeded(Number(seed));
      expect(expected.words.map(() => random.nextUint32())).toEqual(expected.words);
      expect(PythonRandom.seeded(Number(seed)).sampleRange(70, 30)).toEqual(expected.sample70of30);
      expect(PythonRandom.seeded(Number(seed)).sampleRange(1000, 30)).toEqual(expected.sample1000of30);
    }
  });

  it('gives scipy ks_2samp exact statistic and p-value', () => {
    for (const c of cases.ks) {
      const r = ksTwoSample(c.a, c.b);
      expect(r.statistic).toBe(c.statistic);
      expect(r.pValue).toBeGreaterThan(0);
      expect(Math.abs(r.pValue - c.pValue) / c.pValue).toBeLessThan(1e-9);
    }
  });

  it('detects where the Python implementation of River ADWIN, Page-Hinkley and KSWIN detects, on every stream', () => {
    for (const [name, stream] of Object.entries(cases.streams)) {
      expect(detections('adwin', stream), name).toEqual(cases.adwin[name]);
      expect(detections('adwin', stream, { clock: 1 }), name).toEqual(cases.adwin_clock_1[name]);
      expect(detections('page-hinkley', stream), name).toEqual(cases.page_hinkley[name]);
      expect(detections('page-hinkley', stream, { mode: 'up' }), name).toEqual(cases.page_hinkley_up[name]);
      expect(detections('kswin', stream), name).toEqual(cases.kswin[name]);
      expect(detections('kswin', stream, { seed: 1 }), name).toEqual(cases.kswin_seed_1[name]);
    }
  });
});
