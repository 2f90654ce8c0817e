import { ErrorCode, FerryError } from '../../../core/errors.js';
import type { BatchInput, InputProgress, InputRecord, InputReject } from '../types.js';
import { fileChunks, identifyFile, openFile } from './file-source.js';
import { type Line, readLines } from './line-reader.js';
import { DEFAULT_ID_COLUMN, DEFAULT_MAX_RECORD_BYTES, findColumn, toRecord } from './record.js';
import { mappedColumns, type RowMapping, TEXT_MAPPING, tensorRecord } from './row-mapping.js';

/** One CSV record's text (lines joined with \n) and where it sits in the file. */
interface RawRecord {
  readonly line: number;
  readonly endLine: number;
  readonly text: string;
  readonly badUtf8Line?: number;
  /** Fields, when the splitter already had to parse them. */
  readonly fields?: string[];
}

type SplitItem = RawRecord | InputReject;

// Quote states of the record splitter.
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const QUOTE_IN_QUOTED = 3;

/** Whether a line, entered inside a quoted field or not, ends inside one (RFC 4180 quoting). */
export function endsInsideQuotes(text: string, insideAtStart: boolean): boolean {
  if (!insideAtStart && text.indexOf('"') === -1) return false;
  let state = insideAtStart ? QUOTED : FIELD_START;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    switch (state) {
      case FIELD_START:
        state = c === 0x22 ? QUOTED : c === 0x2c ? FIELD_START : UNQUOTED;
        break;
      case UNQUOTED:
        // A quote inside an unquoted field is literal for where the record ends; csv-parse rejects it.
        if (c === 0x2c) state = FIELD_START;
        break;
      case QUOTED:
        if (c === 0x22) state = QUOTE_IN_QUOTED;
        break;
      case QUOTE_IN_QUOTED:
        state = c === 0x22 ? QUOTED : c === 0x2c ? FIELD_START : UNQUOTED;
        break;
    }
  }
  return state === QUOTED;
}

/**
 * Groups lines into CSV records by quote state, so that every record knows the line it starts on,
 * whatever CRLF or quoted newlines it holds. A record that never closes its quote (at the end of
 * the file, or past `maxRecordBytes`) is rejected at the line it starts on and reading resumes on
 * the next line: one bad quote costs one record, not the rest of the file (csv-parse's own
 * skip_records_with_error glues the following rows into the broken one instead).
 */
class CsvRecordSplitter {
  private pending: Line[] = [];
  private pendingChars = 0;
  private inside = false;
  /** Fields of the header (the first record), once read. */
  private expectedFields: number | undefined;

  constructor(private readonly maxRecordBytes: number) {}

  push(line: Line, out: SplitItem[]): void {
    if (line.bad === 'too-long') {
      if (this.pending.length > 0) {
        // Inside a quoted field the record can only be too long now: treat it as never closing.
        this.resync(out, `unclosed quote (the record grows past ${this.maxRecordBytes} bytes)`);
        this.push(line, out);
        return;
      }
      out.push({
        line: line.no,
        reason: `malformed CSV: the line is longer than ${this.maxRecordBytes} bytes`,
      });
      return;
    }
    if (this.pending.length === 0 && line.text === '' && line.bad === undefined) return; // empty line
    this.pending.push(line);
    this.pendingChars += line.text.length + 1;
    this.inside = endsInsideQuotes(line.text, this.inside);
    if (!this.inside) {
      this.take(out);
      return;
    }
    if (this.pendingChars > this.maxRecordBytes) {
      this.resync(out, `unclosed quote (the record grows past ${this.maxRecordBytes} bytes)`);
    }
  }

  /** At the end of the input: a record still open never closed its quote. */
  end(out: SplitItem[]): void {
    while (this.pending.length > 0) this.resync(out, 'unclosed quote (the file ends inside it)');
  }

  /** Rejects the record's first line and splits the lines after it again. */
  private resync(out: SplitItem[], why: string): void {
    const [first, ...rest] = this.pending;
    this.reset();
    if (first === undefined) return;
    out.push({ line: first.no, reason: `malformed CSV: ${why}; reading resumes at line ${first.no + 1}` });
    for (const line of rest) this.push(line, out);
  }

  private take(out: SplitItem[]): void {
    const lines = this.pending;
    const first = lines[0]!;
    const last = lines[lines.length - 1]!;
    const bad = lines.find((l) => l.bad === 'utf8');
    if (lines.length === 1) {
      this.reset();
      if (this.expectedFields === undefined && bad === undefined) {
        // The first record is the header: its width is what a multi-line record must have.
        const header = parseFields(first.text);
        if (Array.isArray(header)) this.expectedFields = header.length;
      }
      out.push(
        bad === undefined
          ? { line: first.no, endLine: last.no, text: first.text }
          : { line: first.no, endLine: last.no, text: '', badUtf8Line: bad.no },
      );
      return;
    }
    // A record over several lines that does not parse, or parses to another width than the header,
    // is most likely an unclosed quote on its first line that a later quote happened to balance:
    // reject that line and read the others again, so the records in between are not swallowed.
    // Invalid UTF-8 is decided after that (its U+FFFD stands in for the bad bytes): a bad byte in a
    // well-formed multi-line record rejects that record, a bad byte after an unclosed quote only
    // its own line.
    const text = lines.map((l) => l.text).join('\n');
    const fields = parseFields(text);
    if (
      !Array.isArray(fields) ||
      (this.expectedFields !== undefined && fields.length !== this.expectedFields)
    ) {
      this.resync(out, 'a quoted field opened on this line is not closed properly');
      return;
    }
    this.reset();
    if (bad !== undefined) {
      out.push({ line: first.no, endLine: last.no, text: '', badUtf8Line: bad.no });
      return;
    }
    out.push({ line: first.no, endLine: last.no, text, fields });
  }

  private reset(): void {
    this.pending = [];
    this.pendingChars = 0;
    this.inside = false;
  }
}

/** Why a record is malformed, by the csv-parse error code the same text gets from csv-parse. */
const REASONS = {
  INVALID_CLOSING_QUOTE:
    'malformed CSV: a closing quote is followed by something other than a comma or a line end',
  INVALID_OPENING_QUOTE:
    'malformed CSV: a quote inside an unquoted field (quote the field and double the quote)',
  QUOTE_NOT_CLOSED: 'malformed CSV: unclosed quote',
} as const;

/**
 * The fields of one CSV record (RFC 4180: `,` separates, `"` quotes, `""` escapes; a newline is
 * data inside quotes only), or what is wrong with it. Field for field the same as csv-parse with
 * its defaults (test/batch checks it against csv-parse), about ten times faster, which matters at
 * the 10 µs a record csv-parse costs next to a ~25 µs prediction.
 */
export function parseCsvRecord(text: string): string[] | { error: keyof typeof REASONS } {
  const fields: string[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    if (text.charCodeAt(i) === 0x22) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const q = text.indexOf('"', from);
        if (q === -1) return { error: 'QUOTE_NOT_CLOSED' };
        value += text.slice(from, q);
        if (text.charCodeAt(q + 1) === 0x22) {
          value += '"';
          from = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i === n) return fields;
      if (text.charCodeAt(i) !== 0x2c) return { error: 'INVALID_CLOSING_QUOTE' };
      i++;
    } else {
      const comma = text.indexOf(',', i);
      const end = comma === -1 ? n : comma;
      const value = text.slice(i, end);
      if (value.indexOf('"') !== -1) return { error: 'INVALID_OPENING_QUOTE' };
      fields.push(value);
      if (comma === -1) return fields;
      i = comma + 1;
    }
  }
}

function parseFields(text: string): string[] | InputRejectReason {
  const parsed = parseCsvRecord(text);
  return Array.isArray(parsed) ? parsed : { reason: REASONS[parsed.error] };
}

type InputRejectReason = { reason: string };

export interface CsvInputOptions {
  path: string;
  idColumn?: string;
  maxRecordBytes?: number;
  mapping?: RowMapping;
}

/**
 * A CSV file as a batch input: hashed for its identity, its header checked (the id, `title` and
 * `description` columns) before any record is read, then streamed in batches of records.
 */
export async function openCsvInput(opts: CsvInputOptions): Promise<BatchInput> {
  const file = await identifyFile(opts.path);
  const maxRecordBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  let bytesRead = 0;
  const stream = openFile(file.path);
  const lines = readLines(fileChunks(stream, file.path), {
    maxLineBytes: maxRecordBytes,
    onBytes: (n) => {
      bytesRead += n;
    },
  });
  const splitter = new CsvRecordSplitter(maxRecordBytes);
  const queued: SplitItem[] = [];
  let ended = false;

  /** Reads until at least one split item is queued or the file ends. */
  const fill = async () => {
    while (queued.length === 0 && !ended) {
      const next = await lines.next();
      if (next.done) {
        splitter.end(queued);
        ended = true;
      } else for (const line of next.value) splitter.push(line, queued);
    }
  };

  let header: string[];
  try {
    await fill();
    const first = queued.shift();
    if (first === undefined) {
      throw new FerryError(ErrorCode.DATA_EMPTY, `${file.path} is empty: expected a header row`, {
        details: { path: file.path },
      });
    }
    header = headerOf(first, file.path);
  } catch (e) {
    await lines.return(undefined);
    throw e;
  }

  let index: ColumnIndex;
  try {
    index = columnIndex(header, opts.idColumn ?? DEFAULT_ID_COLUMN, opts.mapping ?? TEXT_MAPPING, file.path);
  } catch (e) {
    await lines.return(undefined);
    throw e;
  }
  const toRecords = (items: SplitItem[]): InputRecord[] =>
    items.map((item) => ('text' in item ? itemToRecord(item, header, index) : item));

  let started = false;
  return {
    kind: 'csv',
    identity: file.sha256,
    description: file.path,
    idColumn: header[index.id]!,
    totalRecords: undefined,
    async *records() {
      if (started) throw new FerryError(ErrorCode.INTERNAL, 'a batch input can be read once');
      started = true;
      try {
        for (;;) {
          await fill();
          if (queued.length === 0) return;
          // Everything split so far: one chunk of the file's lines at most.
          yield toRecords(queued.splice(0, queued.length));
        }
      } finally {
        await lines.return(undefined);
      }
    },
    progress(): InputProgress {
      return { unit: 'bytes', done: Math.min(bytesRead, file.size), total: file.size };
    },
    async close() {
      await lines.return(undefined);
    },
  };
}

/** Where the id and the mapped columns are among the header's fields. */
interface ColumnIndex {
  id: number;
  mapping: RowMapping;
  /** The index of each mapped column, by the name the mapping gives it. */
  columns: Map<string, number>;
}

/** The header's id and mapped columns; FERRY_BATCH_MISSING_COLUMN when one is missing. */
function columnIndex(header: string[], idColumn: string, mapping: RowMapping, path: string): ColumnIndex {
  const missing: string[] = [];
  const columns = new Map<string, number>();
  let id = -1;
  for (const name of [idColumn, ...mappedColumns(mapping)]) {
    const found = findColumn(header, name);
    if (found === undefined) {
      if (!missing.includes(name)) missing.push(name);
    } else if (name === idColumn && id === -1) id = header.indexOf(found);
    else columns.set(name, header.indexOf(found));
  }
  if (missing.length > 0) {
    throw new FerryError(
      ErrorCode.BATCH_MISSING_COLUMN,
      `${path}: missing column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}; the header has ${header.map((h) => `"${h}"`).join(', ')}` +
        (missing.includes(idColumn) ? ' (choose the id column with --id-column)' : '') +
        (mapping.kind === 'tensors' && missing.some((m) => m !== idColumn)
          ? " (map the model's inputs to columns with --input-map)"
          : ''),
      { details: { path, missing, columns: header } },
    );
  }
  return { id, mapping, columns };
}

/** One CSV record (its text and the lines it covers) as an input record, or a reject saying why not. */
function itemToRecord(item: RawRecord, header: string[], index: ColumnIndex): InputRecord {
  // Every record says which lines it covers, so that every line is accounted for.
  const span = item.endLine > item.line ? { endLine: item.endLine } : {};
  if (item.badUtf8Line !== undefined) {
    return { line: item.line, ...span, reason: `not valid UTF-8 (line ${item.badUtf8Line})` };
  }
  const fields = item.fields ?? parseFields(item.text);
  if (!Array.isArray(fields)) return { line: item.line, ...span, reason: fields.reason };
  if (fields.length !== header.length) {
    return {
      line: item.line,
      ...span,
      reason: `malformed CSV: ${fields.length} field${fields.length === 1 ? '' : 's'} where the header has ${header.length}`,
    };
  }
  const { mapping } = index;
  const columnValue = (column: string) => fields[index.columns.get(column)!];
  const record =
    mapping.kind === 'text'
      ? toRecord(item.line, fields[index.id], columnValue(mapping.title)!, columnValue(mapping.description)!)
      : tensorRecord(item.line, fields[index.id], columnValue, mapping.tensors);
  // Only a record over several lines gets the key: `{ ...record, ...span }` on every record cost
  // about 0.8 µs (a spread followed by a new key leaves V8's fast path on Node 20).
  if (item.endLine > item.line) (record as { endLine?: number }).endLine = item.endLine;
  return record;
}

function headerOf(first: SplitItem, path: string): string[] {
  const fail = (reason: string) =>
    new FerryError(
      ErrorCode.BATCH_INPUT_INVALID,
      `${path}: the header (line ${first.line}) is unreadable: ${reason}`,
      {
        details: { path, line: first.line },
      },
    );
  if (!('text' in first)) throw fail(first.reason);
  if (first.badUtf8Line !== undefined) throw fail('not valid UTF-8');
  const fields = first.fields ?? parseFields(first.text);
  if (!Array.isArray(fields)) throw fail(fields.reason);
  return fields.map((c) => c.trim().toLowerCase());
}
