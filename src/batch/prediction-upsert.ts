import { ErrorCode, FerryError } from '../core/errors.js';
import type { SqlValue } from '../ports/sql.js';

/*
 * The statements that write stored predictions. Two shapes, same rows, same conflict rule:
 * - VALUES: one `($1, …, $10), (…)` tuple a row; portable (SQLite and PostgreSQL), but PostgreSQL
 *   parses and plans a new statement of 5000 parameters for each one.
 * - unnest: PostgreSQL only; 10 array parameters whatever the row count, one short statement the
 *   server plans once a connection, and no bind-parameter limit, so one statement per chunk.
 */

export const PREDICTION_STORE_TABLE = 'ferry_batch_predictions';

export const COLUMNS =
  'model, entity_id, version, input_sha256, prediction, probabilities, computed_at, job_id, source, outputs' as const;
export const COLUMN_COUNT = 10;

/** PostgreSQL element types of the columns above, in order (version is the only non-text one). */
const COLUMN_TYPES = ['text', 'text', 'int', 'text', 'text', 'text', 'text', 'text', 'text', 'text'] as const;

/** Rows of one unnest statement: bounds a statement's text (~250 bytes a row), not a parameter limit. */
export const UNNEST_ROWS_PER_STATEMENT = 10_000;

const UPSERT_TAIL =
  ' ON CONFLICT (model, entity_id) DO UPDATE SET version = excluded.version, input_sha256 = excluded.input_sha256,' +
  ' prediction = excluded.prediction, probabilities = excluded.probabilities,' +
  ' computed_at = excluded.computed_at, job_id = excluded.job_id, source = excluded.source,' +
  ' outputs = excluded.outputs';

/** The VALUES upsert of `rowCount` rows, parameters row after row. */
export function valuesUpsertSql(rowCount: number): string {
  const tuples: string[] = new Array(rowCount);
  for (let r = 0; r < rowCount; r++) {
    const base = r * COLUMN_COUNT;
    const slots: string[] = new Array(COLUMN_COUNT);
    for (let c = 0; c < COLUMN_COUNT; c++) slots[c] = `$${base + c + 1}`;
    tuples[r] = `(${slots.join(', ')})`;
  }
  return `INSERT INTO ${PREDICTION_STORE_TABLE} (${COLUMNS}) VALUES ${tuples.join(', ')}${UPSERT_TAIL}`;
}

/** The unnest upsert (PostgreSQL): parameter c is column c of every row, as an array literal. */
export const UNNEST_UPSERT_SQL = `INSERT INTO ${PREDICTION_STORE_TABLE} (${COLUMNS}) SELECT * FROM unnest(${COLUMN_TYPES.map((t, c) => `$${c + 1}::${t}[]`).join(', ')})${UPSERT_TAIL}`;

/**
 * Encoded rows (COLUMN_COUNT values each, in COLUMNS order) as the parameters of UNNEST_UPSERT_SQL:
 * one PostgreSQL array literal per column. Built here rather than passed as JS arrays so the SQL
 * port keeps scalar parameters only.
 */
export function unnestParams(rows: readonly (readonly SqlValue[])[]): string[] {
  const params: string[] = new Array(COLUMN_COUNT);
  for (let c = 0; c < COLUMN_COUNT; c++) {
    const elements: string[] = new Array(rows.length);
    for (let r = 0; r < rows.length; r++) elements[r] = arrayElement(rows[r]![c]!);
    params[c] = `{${elements.join(',')}}`;
  }
  return params;
}

const NEEDS_ESCAPE = /["\\]/g;

/**
 * One element of a PostgreSQL array literal: NULL unquoted, anything else double-quoted with `"`
 * and `\` backslash-escaped, the only two characters special inside quotes (so commas, braces,
 * spaces, the word NULL and empty strings all come back exactly).
 */
export function arrayElement(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value !== 'string')
    throw new FerryError(ErrorCode.INTERNAL, 'only text, numbers and NULL go into an array literal');
  return `"${value.replace(NEEDS_ESCAPE, '\\$&')}"`;
}
