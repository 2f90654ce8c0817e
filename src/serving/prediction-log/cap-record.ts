import {
  isTextLogItem,
  type PredictionLogItem,
  type PredictionLogRecord,
  TRUNCATION_MARKER,
} from '../../ports/prediction-log-sink.js';

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/*
 * An upper bound of jsonBytes(record) without serialising it, so that the request path (every
 * logged request goes through capRecord) skips JSON.stringify for the text records that are far
 * below the cap, which is nearly all of them: ~1.7 µs a request otherwise. A string of n UTF-16
 * units takes at most 6n + 2 bytes of JSON (an escape \uXXXX is 6 bytes; UTF-8 takes at most 3
 * bytes a unit), a number at most 25 (`-0.0000012345678901234567`; 32 allowed), and the punctuation and key
 * names of a record and of a text item fit in the fixed allowances. Tensor items are not bounded
 * here (Infinity): their records are measured exactly.
 */
const STRING_UNIT_BYTES = 6;
const NUMBER_BYTES = 32;
/** `{"requestId":…,"at":…,"model":…,"version":…,"unit":…,"experiment":…,"arm":…,"latencyMs":…,"itemCount":…,"truncated":true,"items":[]}` without the values. */
const RECORD_ALLOWANCE = 160;
/** `{"title":…,"description":…,"prediction":…,"probabilities":{},"source":…},` without the values. */
const ITEM_ALLOWANCE = 80;

function stringBytesAtMost(value: string | undefined): number {
  return value === undefined ? 0 : STRING_UNIT_BYTES * value.length + 2;
}

export function jsonBytesAtMost(record: PredictionLogRecord): number {
  let bytes =
    RECORD_ALLOWANCE +
    3 * NUMBER_BYTES +
    stringBytesAtMost(record.requestId) +
    stringBytesAtMost(record.at) +
    stringBytesAtMost(record.model) +
    stringBytesAtMost(record.unit) +
    stringBytesAtMost(record.experiment) +
    stringBytesAtMost(record.arm);
  for (const item of record.items) {
    if (!isTextLogItem(item)) return Number.POSITIVE_INFINITY;
    bytes +=
      ITEM_ALLOWANCE +
      stringBytesAtMost(item.title) +
      stringBytesAtMost(item.description) +
      stringBytesAtMost(item.prediction) +
      stringBytesAtMost(item.source);
    for (const key in item.probabilities) bytes += stringBytesAtMost(key) + 1 + NUMBER_BYTES + 1;
  }
  return bytes;
}

/** The longest prefix of `text` that, with the marker, fits `budget` bytes as JSON; '' if none does. */
function cut(text: string, budget: number): string {
  if (jsonBytes(TRUNCATION_MARKER) > budget) return '';
  let lo = 0;
  let hi = text.length;
  // Binary search on code units: JSON size grows monotonically with the prefix length.
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (jsonBytes(text.slice(0, mid) + TRUNCATION_MARKER) <= budget) lo = mid;
    else hi = mid - 1;
  }
  // Never split a surrogate pair.
  const code = text.charCodeAt(lo - 1);
  if (lo > 0 && code >= 0xd800 && code <= 0xdbff) lo -= 1;
  return text.slice(0, lo) + TRUNCATION_MARKER;
}

/**
 * Fits a record into `maxBytes` of JSON (what both sinks store): items are kept in order while their
 * non-text fields fit, then titles and descriptions take what is left, in order; the text field
 * that crosses the cap is cut and ends with TRUNCATION_MARKER, later ones are empty. Returns the
 * record itself when it fits.
 */
export function capRecord(record: PredictionLogRecord, maxBytes: number): PredictionLogRecord {
  if (jsonBytesAtMost(record) <= maxBytes || jsonBytes(record) <= maxBytes) return record;
  const empty = { ...record, items: [], truncated: true as const };
  let remaining = maxBytes - jsonBytes(empty);
  const kept: PredictionLogItem[] = [];
  for (const item of record.items) {
    // Each item costs its JSON without text (tensor items: without inputs), plus a comma between items.
    const bare: PredictionLogItem = isTextLogItem(item)
      ? { ...item, title: '', description: '' }
      : { ...item, inputs: {} };
    const comma = kept.length > 0 ? 1 : 0;
    if (!isTextLogItem(item) && jsonBytes(item) + comma <= remaining) {
      remaining -= jsonBytes(item) + comma;
      kept.push(item);
      continue;
    }
    const cost = jsonBytes(bare) + comma;
    if (cost > remaining) break;
    remaining -= cost;
    kept.push(bare);
  }
  record.items.slice(0, kept.length).forEach((item, i) => {
    const out = kept[i]!;
    if (!isTextLogItem(item) || !isTextLogItem(out)) return;
    for (const field of ['title', 'description'] as const) {
      const text = item[field];
      if (text === '' || remaining <= 0) continue;
      // The field's empty JSON string ("") is already counted.
      const full = jsonBytes(text) - 2;
      if (full <= remaining) {
        out[field] = text;
        remaining -= full;
      } else {
        out[field] = cut(text, remaining + 2);
        remaining = 0;
      }
    }
  });
  return { ...empty, items: kept };
}
