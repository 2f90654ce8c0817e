import { describe, expect, it } from 'vitest';
import { toSqliteParams, toSqlitePlaceholders } from '../../src/adapters/sqlite/placeholders.js';

describe('toSqlitePlaceholders', () => {
  it('rewrites $n to ?n', () => {
    expect(toSqlitePlaceholders('SELECT * FROM t WHERE a = $1 AND b = $12 OR c = $1')).toBe(
      'SELECT * FROM t WHERE a = ?1 AND b = ?12 OR c = ?1',
    );
  });

  it('leaves quoted strings, quoted identifiers and comments alone', () => {
    const sql = `SELECT '$1', 'it''s $2', "col$3" -- $4\n, $5 /* $6 */ FROM t`;
    expect(toSqlitePlaceholders(sql)).toBe(`SELECT '$1', 'it''s $2', "col$3" -- $4\n, ?5 /* $6 */ FROM t`);
  });

  it('leaves a lone $ alone', () => {
    expect(toSqlitePlaceholders('SELECT $ FROM t')).toBe('SELECT $ FROM t');
  });
});

describe('toSqliteParams', () => {
  it('keys values by position and turns booleans into 0/1', () => {
    expect(toSqliteParams(['a', true, false, null, 3])).toEqual({
      '1': 'a',
      '2': 1,
      '3': 0,
      '4': null,
      '5': 3,
    });
  });
});
