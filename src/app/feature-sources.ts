import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { openSqlClient } from '../adapters/factory.js';
import { endsInsideQuotes, parseCsvRecord } from '../batch/job/inputs/csv-input.js';
import { fileChunks, openFile } from '../batch/job/inputs/file-source.js';
import { type Line, readLines } from '../batch/job/inputs/line-reader.js';
import { describeDbUrl } from '../batch/job/inputs/sql-input.js';
import { ErrorCode, FerryError, isFerryError } from '../core/errors.js';
import type { FileSourceDef, SqlSourceDef } from '../features/feature-definitions.js';
import type { OpenedSource, OpenSource, SourceRecord } from '../features/source-rows.js';
import type { SqlClient } from '../ports/sql.js';

/**
 * The batch sources of feature views, read with the batch inputs' code (line splitting with
 * line numbers, bad UTF-8 and over-long lines per line, RFC 4180 CSV records), but as plain
 * records of named fields: a feature source has no id column and no model inputs.
 */
const MAX_RECORD_BYTES = 1024 * 1024;
const SQL_PAGE_ROWS = 5000;

function sourceError(message: string, details: Record<string, unknown>, cause?: unknown): FerryError {
  return new FerryError(ErrorCode.FEATURES_SOURCE, message, {
    details,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** `defaultSql`: the Ferry database, read by sql sources without their own `url`. */
export function featureSourceOpener(defaultSql: SqlClient, defaultDbUrl: string): OpenSource {
  return (source, baseDir) =>
    source.kind === 'file'
      ? openFileSource(source, baseDir)
      : openSqlSource(source, defaultSql, defaultDbUrl);
}

function openFileSource(source: FileSourceDef, baseDir: string): Promise<OpenedSource> {
  return openRecordsFile(resolve(baseDir, source.path), source.format, `the source "${source.name}"`);
}

/**
 * A CSV (header first) or JSON-lines file as records of named fields; `format` defaults from the
 * extension (`.jsonl`/`.ndjson`). `what` names the file's role in messages.
 */
export async function openRecordsFile(
  path: string,
  format: 'csv' | 'jsonl' | undefined,
  what: string,
): Promise<OpenedSource> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (e) {
    throw sourceError(`${what} reads ${path}, which does not exist or is not a file`, { path }, e);
  }
  const csv = (format ?? (/\.(jsonl|ndjson)$/i.test(path) ? 'jsonl' : 'csv')) === 'csv';
  let bytes = 0;
  const lines = readLines(fileChunks(openFile(path), path), {
    maxLineBytes: MAX_RECORD_BYTES,
    onBytes: (n) => {
      bytes += n;
    },
  });
  const reader = csv ? new CsvRecords() : new JsonlRecords();
  let started = false;
  return {
    description: path,
    get fields() {
      return reader.fields;
    },
    async *records() {
      if (started) throw new FerryError(ErrorCode.INTERNAL, 'a feature source can be read once');
      started = true;
      try {
        for await (const batch of lines) {
          const out: SourceRecord[] = [];
          for (const line of batch) reader.push(line, out);
          if (out.length > 0) yield out;
        }
        const out: SourceRecord[] = [];
        reader.end(out);
        if (out.length > 0) yield out;
      } catch (e) {
        if (isFerryError(e) && e.code === ErrorCode.FEATURES_SOURCE) throw e;
        throw sourceError(`reading ${path} failed: ${(e as Error).message}`, { path }, e);
      } finally {
        await lines.return(undefined);
      }
    },
    progress: () => ({ unit: 'bytes', done: Math.min(bytes, size), total: size }),
    close: async () => {
      await lines.return(undefined);
    },
  };
}

interface RecordReader {
  readonly fields: readonly string[] | undefined;
  push(line: Line, out: SourceRecord[]): void;
  end(out: SourceRecord[]): void;
}

/** CSV: the first record is the header; a record spans lines while a quoted field is open. */
class CsvRecords implements RecordReader {
  fields: string[] | undefined;
  private pending: Line[] = [];
  private inside = false;
  private pendingBytes = 0;

  push(line: Line, out: SourceRecord[]): void {
    if (line.bad === 'too-long') {
      this.flushBroken(out, 'a record longer than 1 MiB');
      out.push({ line: line.no, reason: `the line is longer than ${MAX_RECORD_BYTES} bytes` });
      return;
    }
    if (this.pending.length === 0 && line.text === '' && line.bad === undefined) return;
    this.pending.push(line);
    this.pendingBytes += line.text.length + 1;
    this.inside = endsInsideQuotes(line.text, this.inside);
    if (this.inside && this.pendingBytes <= MAX_RECORD_BYTES) return;
    if (this.inside) {
      this.flushBroken(out, 'an unclosed quote');
      return;
    }
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.take(lines, out);
  }

  end(out: SourceRecord[]): void {
    if (this.pending.length > 0) this.flushBroken(out, 'an unclosed quote (the file ends inside it)');
    if (this.fields === undefined) throw sourceError('the CSV source is empty: expected a header row', {});
  }

  private flushBroken(out: SourceRecord[], why: string): void {
    const first = this.pending[0];
    this.pending = [];
    this.pendingBytes = 0;
    this.inside = false;
    if (first !== undefined) out.push({ line: first.no, reason: `malformed CSV: ${why}` });
  }

  private take(lines: Line[], out: SourceRecord[]): void {
    const first = lines[0]!;
    if (lines.some((l) => l.bad === 'utf8')) {
      if (this.fields === undefined)
        throw sourceError(`the CSV header (line ${first.no}) is not valid UTF-8`, {});
      out.push({ line: first.no, reason: 'not valid UTF-8' });
      return;
    }
    const parsed = parseCsvRecord(lines.map((l) => l.text).join('\n'));
    if (!Array.isArray(parsed)) {
      if (this.fields === undefined) throw sourceError(`the CSV header (line ${first.no}) is malformed`, {});
      out.push({ line: first.no, reason: `malformed CSV (${parsed.error})` });
      return;
    }
    if (this.fields === undefined) {
      this.fields = parsed.map((f) => f.trim());
      return;
    }
    if (parsed.length !== this.fields.length) {
      out.push({
        line: first.no,
        reason: `${parsed.length} fields where the header has ${this.fields.length}`,
      });
      return;
    }
    const fields: Record<string, unknown> = {};
    for (let i = 0; i < parsed.length; i++) fields[this.fields[i]!] = parsed[i];
    out.push({ line: first.no, fields });
  }
}

/** JSON lines: one object per non-empty line. */
class JsonlRecords implements RecordReader {
  fields: string[] | undefined;

  push(line: Line, out: SourceRecord[]): void {
    if (line.bad === 'too-long') {
      out.push({ line: line.no, reason: `the line is longer than ${MAX_RECORD_BYTES} bytes` });
      return;
    }
    if (line.bad === 'utf8') {
      out.push({ line: line.no, reason: 'not valid UTF-8' });
      return;
    }
    if (line.text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line.text);
    } catch (e) {
      out.push({ line: line.no, reason: `malformed JSON: ${(e as Error).message}` });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      out.push({ line: line.no, reason: 'expected a JSON object' });
      return;
    }
    this.fields ??= Object.keys(value);
    out.push({ line: line.no, fields: value as Record<string, unknown> });
  }

  end(): void {}
}

/**
 * A table or query, read in pages ordered by every column (the event time first): a stable order,
 * so a rerun cuts the same chunks and skips the ones it has done. Paging by OFFSET rereads the
 * sorted result per page: fine for the sources this serves; index the event-time column.
 */
async function openSqlSource(
  source: SqlSourceDef,
  defaultSql: SqlClient,
  defaultDbUrl: string,
): Promise<OpenedSource> {
  const own = source.url === undefined ? undefined : openSqlClient(source.url);
  const sql = own ?? defaultSql;
  const db = describeDbUrl(source.url ?? defaultDbUrl);
  const what = source.table !== undefined ? `table ${source.table}` : 'query';
  // The table name passed the definition's rule (letters, digits, _ and one dot): unquoted, it is
  // folded as the user's own unquoted DDL was.
  const from =
    source.table !== undefined
      ? `FROM ${source.table}`
      : `FROM (${(source.query ?? '').trim().replace(/;\s*$/, '')}) AS ferry_source`;
  const fail = (e: unknown): FerryError =>
    isFerryError(e) && e.code !== ErrorCode.DB_ERROR
      ? e
      : sourceError(
          `the source "${source.name}" (${what} on ${db}) cannot be read: ${(e as Error).message}`,
          {
            source: source.name,
            db,
          },
          e,
        );
  let fields: string[];
  let total: number;
  try {
    await own?.init();
    const probe = await sql.query(`SELECT * ${from} LIMIT 1`);
    const [count] = await sql.query<{ n: unknown }>(`SELECT COUNT(*) AS n ${from}`);
    total = Number(count?.n ?? 0);
    fields = probe[0] === undefined ? [] : Object.keys(probe[0]);
  } catch (e) {
    await own?.close().catch(() => {});
    throw fail(e);
  }
  const tsIndex = fields.indexOf(source.timestampField);
  const order = [tsIndex + 1, ...fields.map((_f, i) => i + 1).filter((i) => i !== tsIndex + 1)].filter(
    (i) => i > 0,
  );
  let read = 0;
  let started = false;
  return {
    description: `sql:${db} ${source.table ?? source.query}`,
    fields,
    async *records() {
      if (started) throw new FerryError(ErrorCode.INTERNAL, 'a feature source can be read once');
      started = true;
      if (fields.length === 0) return;
      for (let offset = 0; ; offset += SQL_PAGE_ROWS) {
        let rows: Record<string, unknown>[];
        try {
          rows = await sql.query(`SELECT * ${from} ORDER BY ${order.join(', ')} LIMIT $1 OFFSET $2`, [
            SQL_PAGE_ROWS,
            offset,
          ]);
        } catch (e) {
          throw fail(e);
        }
        if (rows.length > 0) yield rows.map((fields) => ({ line: ++read, fields }));
        if (rows.length < SQL_PAGE_ROWS) return;
      }
    },
    progress: () => ({ unit: 'rows', done: read, total }),
    close: async () => {
      await own?.close();
    },
  };
}
