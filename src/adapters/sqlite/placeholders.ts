import type { SqlValue } from '../../ports/sql.js';

/**
 * Rewrites PostgreSQL placeholders ($1, $2, …) into SQLite numbered ones (?1, ?2, …), leaving
 * quoted strings, quoted identifiers and comments untouched.
 */
export function toSqlitePlaceholders(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    const end = skipQuotedOrComment(sql, i);
    if (end > i) {
      out += sql.slice(i, end);
      i = end;
      continue;
    }
    if (ch === '$') {
      const digits = /^\d+/.exec(sql.slice(i + 1));
      if (digits !== null) {
        out += '?' + digits[0];
        i += 1 + digits[0].length;
        continue;
      }
    }
    out += ch;
    i += 1;
  }
  return out;
}

/** Returns the index just past a quoted string or comment starting at `i`, or `i` if none starts there. */
function skipQuotedOrComment(sql: string, i: number): number {
  const ch = sql[i];
  if (ch === "'" || ch === '"' || ch === '`') {
    let j = i + 1;
    while (j < sql.length) {
      if (sql[j] === ch) {
        // A doubled quote is an escaped quote, not the end.
        if (sql[j + 1] === ch) {
          j += 2;
          continue;
        }
        return j + 1;
      }
      j += 1;
    }
    return sql.length;
  }
  if (ch === '-' && sql[i + 1] === '-') {
    const nl = sql.indexOf('\n', i);
    return nl === -1 ? sql.length : nl + 1;
  }
  if (ch === '/' && sql[i + 1] === '*') {
    const close = sql.indexOf('*/', i + 2);
    return close === -1 ? sql.length : close + 2;
  }
  return i;
}

export type SqliteBindValue = string | number | bigint | Buffer | null;

/**
 * better-sqlite3 binds `?NNN` parameters by name, so positional values become an object keyed
 * "1", "2", …; booleans become 0/1 because SQLite has no boolean type.
 */
export function toSqliteParams(params: readonly SqlValue[]): Record<string, SqliteBindValue> {
  const bound: Record<string, SqliteBindValue> = {};
  params.forEach((value, index) => {
    bound[String(index + 1)] = toSqliteValue(value);
  });
  return bound;
}

function toSqliteValue(value: SqlValue): SqliteBindValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return value as SqliteBindValue;
}
