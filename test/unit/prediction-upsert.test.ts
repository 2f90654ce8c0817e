import { describe, expect, it } from 'vitest';
import {
  arrayElement,
  COLUMN_COUNT,
  UNNEST_UPSERT_SQL,
  unnestParams,
  valuesUpsertSql,
} from '../../src/batch/prediction-upsert.js';

describe('prediction upsert statements', () => {
  it('quotes array elements so that NULL, empty strings and special characters stay apart', () => {
    expect(arrayElement(null)).toBe('NULL');
    expect(arrayElement('NULL')).toBe('"NULL"');
    expect(arrayElement('')).toBe('""');
    expect(arrayElement('a,b}{')).toBe('"a,b}{"');
    expect(arrayElement('say "hi" \\o/')).toBe('"say \\"hi\\" \\\\o/"');
    expect(arrayElement(7)).toBe('7');
  });

  it('turns rows into one array literal per column', () => {
    const row = (i: number) => ['m', `e${i}`, i, 'sha', 'p', '{}', 't', i === 1 ? null : 'j', 'batch', null];
    const params = unnestParams([row(1), row(2)]);
    expect(params).toHaveLength(COLUMN_COUNT);
    expect(params[1]).toBe('{"e1","e2"}');
    expect(params[2]).toBe('{1,2}');
    expect(params[7]).toBe('{NULL,"j"}');
    expect(params[9]).toBe('{NULL,NULL}');
  });

  it('the unnest statement has one parameter per column, the VALUES one per value', () => {
    expect(UNNEST_UPSERT_SQL).toContain('unnest($1::text[], $2::text[], $3::int[]');
    expect(UNNEST_UPSERT_SQL).toContain('$10::text[]');
    expect(UNNEST_UPSERT_SQL).not.toContain('$11');
    expect(valuesUpsertSql(2)).toContain('($11, $12, $13, $14, $15, $16, $17, $18, $19, $20)');
  });
});
