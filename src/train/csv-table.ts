import { parse } from 'csv-parse/sync';
import { ErrorCode, FerryError } from '../core/errors.js';

/** A parsed CSV: normalised header names and rows that remember the line they started on. */
export interface CsvTable {
  columns: string[];
  rows: { line: number; values: Record<string, string> }[];
}

/** Decodes strict UTF-8, naming the line and byte of the first invalid sequence. */
function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    const at = firstInvalidUtf8Offset(bytes);
    let line = 1;
    for (let i = 0; i < at; i++) if (bytes[i] === 0x0a) line++;
    throw new FerryError(
      ErrorCode.DATA_ENCODING,
      `${source}: not valid UTF-8 (first bad byte at offset ${at}, line ${line}); save the file as UTF-8`,
      {
        details: { source, offset: at, line },
        cause,
      },
    );
  }
}

function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let lo = 0;
  let hi = bytes.length;
  // The longest valid prefix, found by bisection; a sequence cut in half counts as invalid.
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    try {
      decoder.decode(bytes.subarray(0, mid));
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}

export function parseCsvTable(bytes: Uint8Array, source: string): CsvTable {
  if (bytes.length === 0) {
    throw new FerryError(ErrorCode.DATA_EMPTY, `${source} is empty`, { details: { source } });
  }
  // One line-end convention: csv-parse miscounts lines when CRLF sits inside quoted fields.
  const text = decodeUtf8(bytes, source).replace(/\r\n?/g, '\n');
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      bom: true,
      info: true,
      skip_empty_lines: true,
      relax_column_count: false,
    }) as unknown as typeof records;
  } catch (cause) {
    const err = cause as { message?: string; lines?: number };
    throw new FerryError(
      ErrorCode.DATA_PARSE,
      `${source}: malformed CSV${err.lines ? ` near line ${err.lines}` : ''}: ${err.message ?? cause}`,
      {
        details: { source, line: err.lines },
        cause,
      },
    );
  }
  const [header, ...body] = records;
  if (!header)
    throw new FerryError(ErrorCode.DATA_EMPTY, `${source} has no header row`, {
      details: { source },
    });
  const columns = header.record.map((c) => c.trim().toLowerCase());
  let line = 1;
  const rows = body.map(({ record, info }) => {
    const values: Record<string, string> = {};
    columns.forEach((c, i) => {
      values[c] = record[i] ?? '';
    });
    // info.lines is the line the record ends on; a record starts one past where the previous one ended.
    const start = line + 1;
    line = info.lines;
    return { line: start, values };
  });
  return { columns, rows };
}
