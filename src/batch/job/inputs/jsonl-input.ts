import { ErrorCode, FerryError } from '../../../core/errors.js';
import type { BatchInput, InputProgress, InputRecord } from '../types.js';
import { fileChunks, identifyFile, openFile } from './file-source.js';
import { type Line, readLines } from './line-reader.js';
import { DEFAULT_ID_COLUMN, DEFAULT_MAX_RECORD_BYTES, findColumn, toRecord } from './record.js';
import { mappedColumns, type RowMapping, TEXT_MAPPING, tensorRecord } from './row-mapping.js';

export interface JsonlInputOptions {
  path: string;
  idColumn?: string;
  maxRecordBytes?: number;
  mapping?: RowMapping;
}

interface Keys {
  id: string;
  mapping: RowMapping;
  /** The key of each mapped column as the first object spells it. */
  columns: Map<string, string>;
}

type Parsed = { ok: true; value: Record<string, unknown> } | { ok: false; reason: string };

function parseObject(text: string): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `malformed JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'expected a JSON object' };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

function field(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function lineToRecord(line: Line, keys: Keys): InputRecord | undefined {
  if (line.bad === 'too-long') return { line: line.no, reason: 'line longer than the record size limit' };
  if (line.bad === 'utf8') return { line: line.no, reason: 'not valid UTF-8' };
  if (line.text.trim() === '') return undefined;
  const parsed = parseObject(line.text);
  if (!parsed.ok) return { line: line.no, reason: parsed.reason };
  const obj = parsed.value;
  const rawId = field(obj, keys.id);
  let id: string | undefined;
  if (typeof rawId === 'string') id = rawId;
  else if (typeof rawId === 'number' && Number.isFinite(rawId)) id = String(rawId);
  else if (rawId !== undefined && rawId !== null) {
    return { line: line.no, reason: `"${keys.id}" must be a string or a number` };
  }
  const keyOf = (column: string) => keys.columns.get(column) ?? column;
  const { mapping } = keys;
  if (mapping.kind === 'tensors') {
    // JSON values are taken as they are (numbers, arrays, {shape, data}); strings as CSV text is.
    return tensorRecord(line.no, id, (column) => field(obj, keyOf(column)), mapping.tensors);
  }
  const text = (key: string): string | { reason: string } => {
    const v = field(obj, key);
    if (v === undefined || v === null) return '';
    return typeof v === 'string' ? v : { reason: `"${key}" must be a string` };
  };
  const title = text(keyOf(mapping.title));
  const description = text(keyOf(mapping.description));
  if (typeof title !== 'string') return { line: line.no, ...(id ? { id } : {}), reason: title.reason };
  if (typeof description !== 'string') {
    return { line: line.no, ...(id ? { id } : {}), reason: description.reason };
  }
  return toRecord(line.no, id, title, description);
}

/**
 * A JSON Lines file (one object per line) as a batch input. There is no header, so the first
 * non-empty line stands for one: when it is an object without the id key, the input fails before
 * anything is written (FERRY_BATCH_MISSING_COLUMN), as a CSV without the id column does. Its key
 * spelling (case-insensitive match) is used for every line; an absent title or description is ''.
 */
export async function openJsonlInput(opts: JsonlInputOptions): Promise<BatchInput> {
  const file = await identifyFile(opts.path);
  let bytesRead = 0;
  const lines = readLines(fileChunks(openFile(file.path), file.path), {
    maxLineBytes: opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    onBytes: (n) => {
      bytesRead += n;
    },
  });
  const idColumn = opts.idColumn ?? DEFAULT_ID_COLUMN;
  const mapping = opts.mapping ?? TEXT_MAPPING;
  const keys: Keys = { id: idColumn, mapping, columns: new Map() };
  let head: Line[] = [];
  try {
    // Read up to the first non-empty line (kept, to be yielded as records).
    for (;;) {
      const next = await lines.next();
      if (next.done) break;
      head = head.concat(next.value);
      if (next.value.some((l) => l.bad !== undefined || l.text.trim() !== '')) break;
    }
    const first = head.find((l) => l.bad !== undefined || l.text.trim() !== '');
    if (first === undefined) {
      throw new FerryError(ErrorCode.DATA_EMPTY, `${file.path} is empty: expected one JSON object per line`, {
        details: { path: file.path },
      });
    }
    const parsed = first.bad === undefined ? parseObject(first.text) : undefined;
    if (parsed?.ok) {
      const names = Object.keys(parsed.value);
      const id = findColumn(names, idColumn);
      if (id === undefined) {
        throw new FerryError(
          ErrorCode.BATCH_MISSING_COLUMN,
          `${file.path}: the first object (line ${first.no}) has no "${idColumn}" key; it has ${names.map((n) => `"${n}"`).join(', ')} (choose the id key with --id-column)`,
          { details: { path: file.path, missing: [idColumn], columns: names, line: first.no } },
        );
      }
      keys.id = id;
      // The text classifier's title and description may be absent (''); a tensor input may not.
      const missing: string[] = [];
      for (const column of mappedColumns(mapping)) {
        const found = findColumn(names, column);
        if (found !== undefined) keys.columns.set(column, found);
        else if (mapping.kind === 'tensors') missing.push(column);
      }
      if (missing.length > 0) {
        throw new FerryError(
          ErrorCode.BATCH_MISSING_COLUMN,
          `${file.path}: the first object (line ${first.no}) has no ${missing.map((m) => `"${m}"`).join(', ')} key${missing.length > 1 ? 's' : ''}; it has ${names.map((n) => `"${n}"`).join(', ')} (map the model's inputs to keys with --input-map)`,
          { details: { path: file.path, missing, columns: names, line: first.no } },
        );
      }
    }
  } catch (e) {
    await lines.return(undefined);
    throw e;
  }

  const toRecords = (batch: readonly Line[]): InputRecord[] => {
    const out: InputRecord[] = [];
    for (const line of batch) {
      const record = lineToRecord(line, keys);
      if (record !== undefined) out.push(record);
    }
    return out;
  };

  let started = false;
  return {
    kind: 'jsonl',
    identity: file.sha256,
    description: file.path,
    idColumn: keys.id,
    totalRecords: undefined,
    async *records() {
      if (started) throw new FerryError(ErrorCode.INTERNAL, 'a batch input can be read once');
      started = true;
      try {
        const first = toRecords(head);
        head = [];
        if (first.length > 0) yield first;
        for await (const batch of lines) {
          const records = toRecords(batch);
          if (records.length > 0) yield records;
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
