import type { FileSourceDef, SqlSourceDef } from './feature-definitions.js';

/**
 * How materialize reads a batch source: records of named fields, in a stable order (a file's
 * order; a query's rows ordered by every column, so reruns cut the same chunks). The readers live
 * in the wiring (`app/feature-sources.ts`, over the batch inputs' CSV, JSON-lines and SQL code):
 * this folder may not import `batch/`.
 */
export type SourceRecord =
  /** `line`: the file line (or the row number of a query), 1-based. */
  | { readonly line: number; readonly fields: Readonly<Record<string, unknown>> }
  /** A record that cannot be read (malformed CSV or JSON, bad UTF-8): a bad row, with why. */
  | { readonly line: number; readonly reason: string };

export interface SourceProgress {
  readonly unit: 'bytes' | 'rows';
  readonly done: number;
  readonly total: number | undefined;
}

export interface OpenedSource {
  /** For messages: the file, or the database (no password) and the table or query. */
  readonly description: string;
  /** Field names (the CSV header, a query's columns, the first JSON object's keys), when known. */
  readonly fields: readonly string[] | undefined;
  /** Reads the source from the start, in batches; call once. */
  records(): AsyncGenerator<SourceRecord[]>;
  progress(): SourceProgress;
  close(): Promise<void>;
}

/**
 * Opens a file or SQL source (`baseDir`: what a file path is relative to). Fails with
 * FERRY_FEATURES_SOURCE when it cannot be read at all (no file, a query that fails).
 */
export type OpenSource = (source: FileSourceDef | SqlSourceDef, baseDir: string) => Promise<OpenedSource>;
