import { describe, expect, it } from 'vitest';
import { renderReportTable } from '../../../../src/optimize/report/render-table.js';
import { ODD_LABEL, REPORT } from './report-fixture.js';

const table = renderReportTable(REPORT);
const lines = table.split('\n');
const rowOf = (label: string) => lines.find((l) => l.startsWith(label))!;

describe('renderReportTable', () => {
  it('says which rows were measured and warns when the parent saw them in training', () => {
    expect(lines[0]).toBe('optimize report: 4 models measured on holdout.csv (191 rows)');
    expect(table).toContain('the parent was trained on these rows, so its F1 here is optimistic');
    const unseen = renderReportTable({ ...REPORT, evalSet: { ...REPORT.evalSet, seenInTraining: false } });
    expect(unseen).not.toContain('optimistic');
  });

  it('has one row per model with its figures formatted', () => {
    const parent = rowOf('parent (clf/3)');
    expect(parent).toMatch(
      /text-classifier\s+2,400\.0 KB\s+1\.00x\s+6\.00 MB\s+41\.2\s+0\.213\s+0\.987\s+12,346\s+0\.8412\s+-\s+-\s+-$/u,
    );
    const int8 = rowOf('quantize int8 (clf/4)');
    expect(int8).toMatch(
      /600\.0 KB\s+0\.25x\s+1\.50 MB\s+12\.5\s+0\.151\s+0\.5\s+20,000\s+0\.8367\s+-0\.0045\s+98\.4%\s+0\.0031$/u,
    );
    const odd = rowOf(ODD_LABEL);
    expect(odd).toMatch(/240\.0 KB\s+0\.10x .*0\.8523\s+\+0\.0111\s+95\.0%\s+0\.0211$/u);
  });

  it('reads n/a where a figure was not measured, never 0', () => {
    const custom = rowOf('custom linear');
    expect(custom).toMatch(/12,346\s+n\/a\s+n\/a\s+n\/a\s+n\/a$/u);
    expect(table).toContain('custom linear: no text contract');
  });

  it('lists the per-class F1 of every model beneath, columns aligned', () => {
    const start = lines.indexOf('per-class F1');
    expect(start).toBeGreaterThan(0);
    const header = lines[start + 1]!;
    for (const label of ['parent', 'quantize int8', ODD_LABEL, 'custom linear'])
      expect(header).toContain(label);
    expect(lines[start + 2]).toMatch(/^computer-vision\s+0\.9000\s+0\.8900\s+0\.9000\s+n\/a$/u);
    expect(lines[start + 5]).toMatch(/^other\s+0\.5000\s+0\.4800\s+0\.5000\s+n\/a$/u);
    const table2 = lines.slice(start + 1, start + 6);
    expect(new Set(table2.map((l) => l.length)).size).toBe(1);
  });
});
