import { resolve } from 'node:path';
import { ErrorCode, FerryError, isFerryError } from '../../../core/errors.js';
import { sha256Hex } from '../../../core/hash.js';
import type { SqlClient, SqlRow, SqlValue } from '../../../ports/sql.js';
import type { BatchInput, InputProgress, InputRecord } from '../types.js';
import { Handoff } from './handoff.js';
import { DEFAULT_ID_COLUMN, findColumn, toRecord } from './record.js';
import { mappedColumns, type RowMapping, TEXT_MAPPING, tensorRecord } from './row-mapping.js';

export interface SqlInputOptions {
  client: SqlClient;
  query: string;
  dbUrl: string;
  idColumn?: string;
  pageSize?: number;
  mapping?: RowMapping;
}

const DEFAULT_PAGE_SIZE = 1000;
const CURSOR = 'ferry_batch_input';

/** A database URL without its password: `postgres://user@host/db`, or `sqlite:/absolute/path`. */
export function describeDbUrl(url: string): string {
  const trimmed = url.trim();
  if (/^postgres(ql)?:\/\//i.test(trimmed)) {
    try {
      const u = new URL(trimmed);
      u.password = '';
      u.searchParams.delete('password');
      return u.toString();
    } catch {
      return 'postgres://(unparseable URL)';
    }
  }
  const path = trimmed.replace(/^sqlite:(\/\/(?=\/))?/i, '');
  return path === ':memory:' || path === '' ? 'sqlite::memory:' : `sqlite:${resolve(path)}`;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The query without trailing semicolons or whitespace, so that it can be wrapped as a subquery. */
function normaliseQuery(query: string): string {
  const q = query.trim().replace(/;\s*$/, '').trim();
  if (q === '') {
    throw new FerryError(ErrorCode.BATCH_INPUT_INVALID, 'the input query is empty');
  }
  return q;
}

function queryError(e: unknown, what: string): FerryError {
  // An unreachable or locked database keeps its own code; a query the database refuses is bad input.
  if (isFerryError(e) && e.code !== ErrorCode.DB_ERROR) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new FerryError(ErrorCode.BATCH_INPUT_INVALID, `the input query failed (${what}): ${message}`, {
    cause: e,
  });
}

function text(value: unknown): string | undefined {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return undefined;
}

/**
 * A SQL query's result as a batch input. The rows are read in the order of the id column (the
 * query's own ORDER BY is not trusted to be stable across runs, and chunk boundaries must be), in
 * pages, so memory stays bounded:
 *
 * - PostgreSQL: one server-side cursor (`DECLARE … NO SCROLL CURSOR` in a read-only REPEATABLE
 *   READ transaction), `FETCH FORWARD pageSize` at a time: one sort on the server, one snapshot.
 * - SQLite: keyset paging on the id column (`WHERE id > last ORDER BY id LIMIT n`), rows with a
 *   NULL id first (they are rejects). SQLite transactions take the write lock, so a long-running
 *   cursor transaction could block the job's own writes to the same file. Each page is an index
 *   range scan when the id column is indexed (a PRIMARY KEY is); without an index every page
 *   rescans the table, so index it for large inputs.
 *
 * `line` is the row's number (1-based) in that order. The job identity is the query text plus the
 * database URL without its password: a changed table under the same query resumes the same job.
 */
export async function openSqlInput(opts: SqlInputOptions): Promise<BatchInput> {
  const { client } = opts;
  const query = normaliseQuery(opts.query);
  const pageSize = Math.max(1, Math.floor(opts.pageSize ?? DEFAULT_PAGE_SIZE));
  const from = `FROM (${query}) AS ferry_input`;
  const db = describeDbUrl(opts.dbUrl);
  const { empty, total, columns } = await probeQuery(
    client,
    from,
    opts.idColumn ?? DEFAULT_ID_COLUMN,
    opts.mapping ?? TEXT_MAPPING,
  );
  const source: PageSource = { client, from, idColumn: columns.id, pageSize };

  let rowsRead = 0;
  async function* pages(): AsyncGenerator<SqlRow[]> {
    if (empty) return; // no rows: nothing to order by
    yield* client.dialect === 'postgres' ? cursorPages(source) : keysetPages(source);
  }

  let started = false;
  return {
    kind: 'sql',
    identity: sha256Hex(JSON.stringify(['sql', db, query])),
    description: `sql:${db} ${query}`,
    idColumn: columns.id,
    totalRecords: total,
    async *records() {
      if (started) throw new FerryError(ErrorCode.INTERNAL, 'a batch input can be read once');
      started = true;
      try {
        for await (const rows of pages()) yield rows.map((row) => rowToRecord(row, ++rowsRead, columns));
      } catch (e) {
        throw queryError(e, 'reading it');
      }
    },
    progress(): InputProgress {
      return { unit: 'rows', done: rowsRead, total };
    },
    async close() {},
  };
}

/** The result's columns as the query spells them. */
interface Columns {
  id: string;
  mapping: RowMapping;
  /** Each mapped column as the query spells it. */
  mapped: Map<string, string>;
}

/**
 * Runs the query once for its first row (which columns it returns) and once for its row count,
 * before anything is written; refuses a query without the id and mapped columns.
 */
async function probeQuery(
  client: SqlClient,
  from: string,
  wantedId: string,
  mapping: RowMapping,
): Promise<{ empty: boolean; total: number; columns: Columns }> {
  let probe: SqlRow[];
  let total: number;
  try {
    probe = await client.query(`SELECT * ${from} LIMIT 1`);
    const [count] = await client.query<{ n: unknown }>(`SELECT COUNT(*) AS n ${from}`);
    total = Number(count?.n ?? 0);
  } catch (e) {
    throw queryError(e, 'checking it');
  }
  const columns: Columns = { id: wantedId, mapping, mapped: new Map() };
  if (probe[0] === undefined) return { empty: true, total, columns };
  const names = Object.keys(probe[0]);
  const missing: string[] = [];
  const foundId = findColumn(names, wantedId);
  if (foundId === undefined) missing.push(wantedId);
  else columns.id = foundId;
  for (const column of mappedColumns(mapping)) {
    const found = findColumn(names, column);
    if (found === undefined) missing.push(column);
    else columns.mapped.set(column, found);
  }
  if (missing.length > 0) {
    throw new FerryError(
      ErrorCode.BATCH_MISSING_COLUMN,
      `the input query returns no column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}; it returns ${names.map((n) => `"${n}"`).join(', ')}` +
        (missing.includes(wantedId) ? ' (choose the id column with --id-column)' : ''),
      { details: { missing, columns: names } },
    );
  }
  return { empty: false, total, columns };
}

/** One result row as an input record (or a reject when its id or text columns are not text). */
function rowToRecord(row: SqlRow, line: number, columns: Columns): InputRecord {
  const rawId = row[columns.id];
  const idText = rawId === null || rawId === undefined ? undefined : text(rawId);
  if (rawId !== null && rawId !== undefined && idText === undefined) {
    return { line, reason: `"${columns.id}" must be text or a number` };
  }
  const { mapping, mapped } = columns;
  const columnValue = (column: string) => row[mapped.get(column) ?? column];
  if (mapping.kind === 'tensors') return tensorRecord(line, idText, columnValue, mapping.tensors);
  const title = text(columnValue(mapping.title));
  const description = text(columnValue(mapping.description));
  if (title === undefined || description === undefined) {
    return {
      line,
      ...(idText ? { id: idText } : {}),
      reason: '"title" and "description" must be text',
    };
  }
  return toRecord(line, idText, title, description);
}

/** What both paging strategies read: the wrapped query, ordered by its id column, in pages. */
interface PageSource {
  client: SqlClient;
  /** `FROM (query) AS ferry_input`. */
  from: string;
  idColumn: string;
  pageSize: number;
}

/** PostgreSQL: one server-side cursor in a read-only REPEATABLE READ transaction. */
async function* cursorPages({ client, from, idColumn, pageSize }: PageSource): AsyncGenerator<SqlRow[]> {
  const id = quoteIdent(idColumn);
  const handoff = new Handoff<SqlRow[]>();
  const producer = client
    .transaction(async (tx) => {
      await tx.execute('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      await tx.execute(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR SELECT * ${from} ORDER BY ${id}`);
      for (;;) {
        const rows = await tx.query(`FETCH FORWARD ${pageSize} FROM ${CURSOR}`);
        if (rows.length === 0 || !(await handoff.push(rows))) break;
      }
      await tx.execute(`CLOSE ${CURSOR}`);
    })
    .then(
      () => handoff.finish(),
      (error: unknown) => handoff.finish({ error }),
    );
  try {
    for (;;) {
      const rows = await handoff.pop();
      if (rows === undefined) return;
      yield rows;
    }
  } finally {
    handoff.cancel();
    await producer;
  }
}

/** SQLite: keyset paging on the id column, rows with a NULL id first. */
async function* keysetPages({ client, from, idColumn, pageSize }: PageSource): AsyncGenerator<SqlRow[]> {
  const id = quoteIdent(idColumn);
  // NULL ids have no place in a keyset: read them first, by offset (they are all rejects).
  for (let offset = 0; ; offset += pageSize) {
    const rows = await client.query(`SELECT * ${from} WHERE ${id} IS NULL LIMIT $1 OFFSET $2`, [
      pageSize,
      offset,
    ]);
    if (rows.length > 0) yield rows;
    if (rows.length < pageSize) break;
  }
  let last: SqlValue | undefined;
  for (;;) {
    const page =
      last === undefined
        ? await client.query(`SELECT * ${from} WHERE ${id} IS NOT NULL ORDER BY ${id} LIMIT $1`, [pageSize])
        : await client.query(`SELECT * ${from} WHERE ${id} > $1 ORDER BY ${id} LIMIT $2`, [last, pageSize]);
    if (page.length < pageSize) {
      if (page.length > 0) yield page;
      return;
    }
    // A full page may cut a run of equal ids: hold back the last id's rows and read them whole.
    last = page[page.length - 1]![idColumn] as SqlValue;
    let keep = page.length;
    while (keep > 0 && page[keep - 1]![idColumn] === last) keep--;
    if (keep > 0) yield page.slice(0, keep);
    yield await client.query(`SELECT * ${from} WHERE ${id} = $1`, [last]);
  }
}
