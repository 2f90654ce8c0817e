import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { FerryError } from '../../../src/core/errors.js';
import { seededRandom, shuffleInPlace } from '../../../src/core/random.js';
import { textDomainDrift } from '../../../src/monitoring/stats/domain-classifier.js';
import { COURSE_DATASET, hasCourseData } from '../../helpers/course-data.js';

/** Texts of 12 words drawn (skewed to the first) from `words` from index `from`. */
function texts(n: number, seed: number, from = 0): string[] {
  const random = seededRandom(seed);
  const words = Array.from({ length: 3000 }, (_, i) => `term${i.toString(36)}`);
  return Array.from({ length: n }, () =>
    Array.from({ length: 12 }, () => words[from + Math.floor(random() ** 1.5 * 2000)]).join(' '),
  );
}

describe('textDomainDrift', () => {
  it('sees no drift between two samples of one distribution (2000 vs 2000: the 0.55 threshold)', () => {
    const r = textDomainDrift(texts(2000, 1), texts(2000, 2));
    expect(Math.abs(r.rocAuc - 0.5)).toBeLessThan(0.04);
    expect(r.threshold).toBe(0.55);
    expect(r.drifted).toBe(false);
    expect(r).toMatchObject({ method: 'domain-classifier', referenceCount: 2000, currentCount: 2000 });
  });

  it('finds the words that moved, on small samples with a permutation threshold', () => {
    const reference = texts(300, 3);
    const current = texts(200, 4, 500);
    const r = textDomainDrift(reference, current);
    expect(r.rocAuc).toBeGreaterThan(0.9);
    expect(r.threshold).toBeGreaterThan(0.5);
    expect(r.threshold).toBeLessThan(0.65);
    expect(r.drifted).toBe(true);
    // every top term is relatively more frequent in the current texts than in the reference
    const share = (sample: string[], term: string): number =>
      sample.filter((t) => ` ${t} `.includes(` ${term} `)).length / sample.length;
    expect(r.topTerms).toHaveLength(10);
    for (const term of r.topTerms) expect(share(current, term), term).toBeGreaterThan(share(reference, term));
  });

  it('is deterministic for a seed', () => {
    const a = texts(400, 5);
    const b = texts(400, 6, 100);
    expect(textDomainDrift(a, b, { seed: 7 })).toEqual(textDomainDrift(a, b, { seed: 7 }));
    expect(textDomainDrift(a, b, { seed: 7 }).threshold).not.toBe(
      textDomainDrift(a, b, { seed: 8 }).threshold,
    );
  });

  it('uses a given threshold and refuses one outside [0, 1]', () => {
    const r = textDomainDrift(texts(100, 9), texts(100, 10), { threshold: 0.99 });
    expect(r.threshold).toBe(0.99);
    expect(r.drifted).toBe(false);
    expect(() => textDomainDrift(['a'], ['b'], { threshold: Number.NaN })).toThrow(FerryError);
    expect(() => textDomainDrift(['a'], ['b'], { threshold: 2 })).toThrow(FerryError);
  });

  it('answers "no data" without NaN when a side has no texts, and copes with tiny or empty texts', () => {
    const r = textDomainDrift(texts(10, 11), []);
    expect(r).toMatchObject({ noData: true, drifted: false, rocAuc: 0.5, topTerms: [] });
    expect(Number.isFinite(r.threshold)).toBe(true);
    const tiny = textDomainDrift(['', 'the and of'], ['x']);
    for (const v of [tiny.rocAuc, tiny.threshold]) expect(Number.isFinite(v)).toBe(true);
    expect(tiny.drifted).toBe(false);
  });
});

describe.skipIf(!hasCourseData)(
  `textDomainDrift on the course data (skipped when ${COURSE_DATASET} is absent)`,
  () => {
    const rows = hasCourseData
      ? (parse(readFileSync(COURSE_DATASET), { columns: true }) as Record<string, string>[])
      : [];
    const text = (r: Record<string, string>): string => `${r.title} ${r.description}`;

    it('tells computer-vision projects from natural-language-processing ones', () => {
      const cv = rows.filter((r) => r.tag === 'computer-vision').map(text);
      const nlp = rows.filter((r) => r.tag === 'natural-language-processing').map(text);
      const r = textDomainDrift(cv, nlp, { seed: 1 });
      expect(r.rocAuc).toBeGreaterThan(0.8);
      expect(r.drifted).toBe(true);
      expect(r.topTerms.slice(0, 5)).toContain('nlp');
    });

    it('sees no drift between random halves of the dataset: AUC near 0.5, rarely above the bound', () => {
      let drifted = 0;
      for (let seed = 0; seed < 8; seed++) {
        const all = shuffleInPlace(rows.map(text), seededRandom(100 + seed));
        const half = Math.floor(all.length / 2);
        const r = textDomainDrift(all.slice(0, half), all.slice(half), { seed });
        expect(Math.abs(r.rocAuc - 0.5)).toBeLessThan(0.1);
        if (r.drifted) drifted++;
      }
      // a 95 % bound: about one false alarm in twenty is expected; three in eight would be a broken bound
      expect(drifted).toBeLessThanOrEqual(2);
    });
  },
);
