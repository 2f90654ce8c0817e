import type { BatchInput, InputSpec } from '../types.js';
import { openCsvInput } from './csv-input.js';
import { openJsonlInput } from './jsonl-input.js';
import { openSqlInput } from './sql-input.js';

/** Opens and validates an input: everything that must fail before anything is written fails here. */
export function openBatchInput(spec: InputSpec): Promise<BatchInput> {
  switch (spec.kind) {
    case 'csv':
      return openCsvInput(spec);
    case 'jsonl':
      return openJsonlInput(spec);
    case 'sql':
      return openSqlInput(spec);
  }
}

/** The input format a file name implies: `.jsonl`/`.ndjson` → JSONL, anything else → CSV. */
export function formatOfPath(path: string): 'csv' | 'jsonl' {
  return /\.(jsonl|ndjson)$/i.test(path) ? 'jsonl' : 'csv';
}
