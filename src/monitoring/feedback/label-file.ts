import { ErrorCode, FerryError } from '../../core/errors.js';
import { parseCsvTable } from '../../train/csv-table.js';
import { checkLabelObject, type NewLabel } from './feedback-input.js';

/** A label with the line of the file it came from (for messages). */
export interface FileLabel {
  line: number;
  label: NewLabel;
}

function atLine(source: string, line: number, e: unknown): FerryError {
  const message = e instanceof Error ? e.message : String(e);
  return new FerryError(ErrorCode.FEEDBACK_INVALID, `${source}, line ${line}: ${message}`, {
    details: { source, line, ...(e instanceof FerryError ? e.details : {}) },
  });
}

/** CSV columns request_id | entity_id, item (optional), label; item is a decimal integer. */
function fromCsv(bytes: Uint8Array, source: string): FileLabel[] {
  const table = parseCsvTable(bytes, source);
  if (
    !table.columns.includes('label') ||
    !table.columns.some((c) => c === 'request_id' || c === 'entity_id')
  ) {
    throw new FerryError(
      ErrorCode.FEEDBACK_INVALID,
      `${source}: the header must name label and request_id or entity_id (and optionally item); found ${table.columns.join(', ')}`,
      { details: { source, columns: table.columns } },
    );
  }
  return table.rows.map(({ line, values }) => {
    const item = values.item ?? '';
    const raw = {
      request_id: values.request_id,
      entity_id: values.entity_id,
      label: values.label,
      // A CSV cell is text: only a plain decimal integer is an item; anything else is refused below.
      item: item === '' ? undefined : /^\d{1,6}$/.test(item) ? Number(item) : item,
    };
    try {
      return { line, label: checkLabelObject(raw, '') };
    } catch (e) {
      throw atLine(source, line, e);
    }
  });
}

/** One JSON object per line: {request_id | entity_id, item?, label}. */
function fromJsonl(text: string, source: string): FileLabel[] {
  const out: FileLabel[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw atLine(source, line, e);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw atLine(source, line, new Error('expected a JSON object'));
    }
    try {
      out.push({ line, label: checkLabelObject(value as Record<string, unknown>, '') });
    } catch (e) {
      throw atLine(source, line, e);
    }
  });
  return out;
}

/** Labels of a `.csv` or `.jsonl` file (by its name), every line checked as POST /v1/feedback checks labels. */
export function parseLabelFile(bytes: Uint8Array, source: string): FileLabel[] {
  if (/\.csv$/i.test(source)) return fromCsv(bytes, source);
  if (/\.(jsonl|ndjson)$/i.test(source)) {
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new FerryError(ErrorCode.FEEDBACK_INVALID, `${source}: not valid UTF-8`, { details: { source } });
    }
    return fromJsonl(text, source);
  }
  throw new FerryError(ErrorCode.FEEDBACK_INVALID, `${source}: give a .csv or .jsonl file`, {
    details: { source },
  });
}
