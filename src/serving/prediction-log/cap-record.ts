import {
  isTextLogItem,
  type PredictionLogItem,
  type PredictionLogRecord,
  TRUNCATION_MARKER,
} from '../../ports/prediction-log-sink.js';

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
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
  if (jsonBytes(record) <= maxBytes) return record;
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
