import type { NamedTensors } from '../../model/tensor.js';
import type { SqlClient } from '../../ports/sql.js';
import type { RowMapping } from './inputs/row-mapping.js';

/** A record of the input that can be predicted. `line` is where it starts (1-based; for SQL: the row number). */
interface RowPlace {
  readonly line: number;
  /** The last physical line of a record over several lines (a quoted newline); absent: `line`. */
  readonly endLine?: number;
  readonly id: string;
}

/** A row of the built-in text classifier: its title and description (the fast path, `predictBatch`). */
export interface TextRow extends RowPlace {
  readonly title: string;
  readonly description: string;
}

/**
 * A row of any other model: its input tensors, checked against the signature, in the row's shape
 * (the signature's without the batch dimension when the model stacks rows, else the whole shape).
 * Plain JSON, so that distributed chunks carry it through the queue as it is.
 */
export interface TensorRow extends RowPlace {
  readonly tensors: NamedTensors;
}

export type InputRow = TextRow | TensorRow;

export function isTensorRow(row: InputRow): row is TensorRow {
  return 'tensors' in row;
}

/** A record of the input that cannot be predicted, and why. `id` when the record had a usable one. */
export interface InputReject {
  readonly line: number;
  /** The last physical line of a record over several lines; absent: `line`. */
  readonly endLine?: number;
  readonly reason: string;
  readonly id?: string;
}

/** Every input record is exactly one of the two; chunk boundaries count both. */
export type InputRecord = InputRow | InputReject;

export function isReject(record: InputRecord): record is InputReject {
  return 'reason' in record;
}

export type InputSpec =
  | {
      readonly kind: 'csv' | 'jsonl';
      readonly path: string;
      readonly idColumn?: string;
      /** A physical line (or record) longer than this many bytes is rejected; default 1 MiB. */
      readonly maxRecordBytes?: number;
      /** Which columns make a row's inputs; default: the text classifier's title and description. */
      readonly mapping?: RowMapping;
    }
  | {
      readonly kind: 'sql';
      /** An initialised client on the input database (opened by the caller: the wiring picks adapters). */
      readonly client: SqlClient;
      /** The query; its result is read ordered by the id column (see sql-input.ts). */
      readonly query: string;
      /** The database URL, used (without its password) for the job's identity and the jobs table. */
      readonly dbUrl: string;
      readonly idColumn?: string;
      /** Rows per page (default 1000). */
      readonly pageSize?: number;
      /** Which columns make a row's inputs; default: the text classifier's title and description. */
      readonly mapping?: RowMapping;
    };

/** How far reading has got, for a progress bar: bytes of a file, or rows of a query. */
export interface InputProgress {
  readonly unit: 'bytes' | 'rows';
  readonly done: number;
  readonly total: number | undefined;
}

/**
 * An opened, validated input. Opening checks everything that must fail before anything is written
 * (the file exists and is readable, the id column exists, the query runs); reading yields the
 * records in input order, in batches, with a memory use bounded by the batch, not the input.
 */
export interface BatchInput {
  readonly kind: 'csv' | 'jsonl' | 'sql';
  /** Stable identity of the input's content: sha256 of the file bytes, or of the query + database. */
  readonly identity: string;
  /** What the jobs table shows as the input (a path, or `sql:<db>` and the query); never a password. */
  readonly description: string;
  /** The id column as the input spells it. */
  readonly idColumn: string;
  /** Records known up front (a query's COUNT), when cheap to know. */
  readonly totalRecords: number | undefined;
  /** Reads the input from the start; call once. */
  records(): AsyncGenerator<InputRecord[]>;
  progress(): InputProgress;
  close(): Promise<void>;
}
