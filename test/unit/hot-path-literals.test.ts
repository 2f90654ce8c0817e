import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * On Node 20, an object literal that starts with a spread and then adds keys the spread object
 * does not have (`{ ...base, entityId, outputs }`) leaves V8's fast path: about 1 µs a new key,
 * 5 µs for a stored prediction, against 20 ns for the same object written out
 * (docs/benchmarks.md, "Spreads on the hot paths"). The files below build an object per row,
 * event or lookup; this keeps the pattern out of them. Overriding a key the spread object has
 * (`{ ...t, shape }`) stays fast and is not what this looks for, but the check cannot tell the
 * two apart, so write those out too in these files.
 */
const HOT_PATHS = [
  'batch/job/process-chunk.ts',
  'batch/job/inputs/csv-input.ts',
  'batch/prediction-store.ts',
  'experiments/experiment-router.ts',
  'streams/predictions-sink.ts',
  'streams/process-batch.ts',
  'serving/prediction-service.ts',
];

const SPREAD_FIRST = /\{\s*\.\.\.[\w.!()[\]]+\s*,\s*(?!\.\.\.)[\w'"[]/g;

/** Comments blanked out (kept as spaces, so line numbers stay): they may quote the pattern. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, (c) => c.replace(/[^\n]/g, ' '));
}

function spreadFirstLiterals(source: string): string[] {
  const found: string[] = [];
  for (const m of withoutComments(source).matchAll(SPREAD_FIRST)) {
    const line = source.slice(0, m.index).split('\n').length;
    found.push(`${line}: ${m[0].replace(/\s+/g, ' ')}`);
  }
  return found;
}

describe('object literals on the hot paths', () => {
  it('finds the pattern it looks for (the check can fail)', () => {
    expect(spreadFirstLiterals('const a = { ...base, entityId: id };')).toHaveLength(1);
    expect(spreadFirstLiterals('const a = {\n  ...base,\n  entityId,\n};')).toHaveLength(1);
    expect(spreadFirstLiterals('const a = { entityId, ...base };')).toHaveLength(0);
    expect(spreadFirstLiterals('const a = { ...base, ...more };')).toHaveLength(0);
    expect(spreadFirstLiterals('// not `{ ...base, entityId }`\nconst a = 1;')).toHaveLength(0);
  });

  for (const file of HOT_PATHS) {
    it(`${file} builds no object as a spread followed by new keys`, () => {
      const source = readFileSync(resolve(import.meta.dirname, '../../src', file), 'utf8');
      expect(spreadFirstLiterals(source)).toEqual([]);
    });
  }
});
