import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ErrorCode, FerryError } from '../core/errors.js';
import { parseEventTime } from '../features/event-time.js';
import type { FeatureRepoDef } from '../features/feature-definitions.js';
import { type FeatureRef, resolveFeatures } from '../features/feature-refs.js';
import { keyPart } from '../features/row-transform.js';
import { featureColumnNames, pointInTimeJoin, requiredJoinKeys } from '../features/training-set.js';
import type { FeatureValue } from '../ports/online-feature-store.js';
import type { SqlExecutor } from '../ports/sql.js';
import { openRecordsFile } from './feature-sources.js';

/**
 * `ferry features training-set` over files: the entity rows from a CSV or JSON-lines file (join
 * keys, a timestamp column, any other columns), the point-in-time join, and the rows written back
 * in their order with their columns, the features appended (CSV or JSON lines, by extension).
 */
export const DEFAULT_TIMESTAMP_COLUMN = 'event_timestamp';
const MAX_LISTED = 10;
const WRITE_BUFFER_CHARS = 1 << 20;

export interface TrainingSetFileRequest {
  readonly entities: string;
  readonly out: string;
  readonly service?: string;
  readonly features?: readonly string[];
  readonly timestampColumn?: string;
}

export interface TrainingSetFileSummary {
  readonly out: string;
  readonly rows: number;
  readonly features: readonly string[];
  readonly columns: readonly string[];
  /** Per output feature column, how many rows got a value (the rest are empty). */
  readonly found: Readonly<Record<string, number>>;
  readonly seconds: number;
}

function isJsonl(path: string): boolean {
  return /\.(jsonl|ndjson)$/i.test(path);
}

function invalid(message: string, details: Record<string, unknown>): FerryError {
  return new FerryError(ErrorCode.FEATURES_INVALID_REQUEST, message, { details });
}

export async function trainingSetFromFiles(
  sql: SqlExecutor,
  repo: FeatureRepoDef,
  req: TrainingSetFileRequest,
): Promise<TrainingSetFileSummary> {
  const started = performance.now();
  const refs = resolveFeatures(repo, {
    ...(req.service ? { service: req.service } : {}),
    ...(req.features ? { features: req.features } : {}),
  });
  const tsColumn = req.timestampColumn ?? DEFAULT_TIMESTAMP_COLUMN;
  const joinKeys = requiredJoinKeys(repo, refs);
  const input = await readEntityRows(req.entities, tsColumn, joinKeys);
  const columns = await pointInTimeJoin(sql, repo, refs, { keys: input.keys, timestamps: input.timestamps });
  const names = featureColumnNames(refs, input.columns);
  const out = resolve(req.out);
  await writeRows(
    out,
    input,
    names,
    columns.map((c) => c.values),
  );
  const found: Record<string, number> = {};
  names.forEach((name, i) => {
    found[name] = columns[i]!.values.reduce<number>((n, v) => (v === null ? n : n + 1), 0);
  });
  return {
    out,
    rows: input.rows.length,
    features: refs.map((r: FeatureRef) => `${r.view}:${r.feature}`),
    columns: [...input.columns, ...names],
    found,
    seconds: (performance.now() - started) / 1000,
  };
}

interface EntityRows {
  columns: string[];
  rows: Array<Readonly<Record<string, unknown>>>;
  keys: Record<string, Array<string | undefined>>;
  timestamps: Float64Array;
}

async function readEntityRows(
  path: string,
  tsColumn: string,
  joinKeys: readonly string[],
): Promise<EntityRows> {
  const file = await openRecordsFile(resolve(path), undefined, 'the entity rows file');
  const rows: Array<Readonly<Record<string, unknown>>> = [];
  const times: number[] = [];
  const problems: Array<{ line: number; reason: string }> = [];
  let problemCount = 0;
  const problem = (line: number, reason: string) => {
    problemCount++;
    if (problems.length < MAX_LISTED) problems.push({ line, reason });
  };
  try {
    for await (const batch of file.records()) {
      for (const r of batch) {
        if ('reason' in r) {
          problem(r.line, r.reason);
          continue;
        }
        const raw = r.fields[tsColumn];
        const t = parseEventTime(raw);
        if (t === undefined) {
          problem(
            r.line,
            raw === undefined || raw === '' || raw === null
              ? `no timestamp ("${tsColumn}")`
              : `the timestamp ${JSON.stringify(raw)} is not ISO 8601 or ms`,
          );
          continue;
        }
        rows.push(r.fields);
        times.push(t);
      }
    }
  } finally {
    await file.close();
  }
  const columns = [...(file.fields ?? [])];
  for (const row of rows.slice(0, 1))
    for (const k of Object.keys(row)) if (!columns.includes(k)) columns.push(k);
  if (!columns.includes(tsColumn) && rows.length + problemCount > 0) {
    throw invalid(
      `${path} has no "${tsColumn}" column (choose the timestamp column with --timestamp-column); it has ${columns.join(', ')}`,
      {
        path,
        missing: [tsColumn],
        columns,
      },
    );
  }
  const missing = joinKeys.filter((k) => !columns.includes(k));
  if (missing.length > 0) {
    throw invalid(
      `${path} has no ${missing.map((m) => `"${m}"`).join(', ')} column, which the features need as join keys; it has ${columns.join(', ')}`,
      {
        path,
        missing,
        columns,
      },
    );
  }
  if (problemCount > 0) {
    throw invalid(
      `${path}: ${problemCount} row${problemCount > 1 ? 's' : ''} cannot be used:\n${problems.map((p) => `  line ${p.line}: ${p.reason}`).join('\n')}`,
      { path, problems, count: problemCount },
    );
  }
  const keys: Record<string, Array<string | undefined>> = {};
  for (const k of joinKeys) {
    keys[k] = rows.map((row) => {
      const part = keyPart(row[k], k);
      return typeof part === 'string' ? part : undefined;
    });
  }
  return { columns, rows, keys, timestamps: Float64Array.from(times) };
}

function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text =
    typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

async function writeRows(
  path: string,
  input: EntityRows,
  names: readonly string[],
  values: ReadonlyArray<readonly FeatureValue[]>,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const stream = createWriteStream(path);
  const failed = new Promise<never>((_resolve, reject) => stream.once('error', reject));
  failed.catch(() => {});
  const write = async (text: string) => {
    if (!stream.write(text))
      await Promise.race([new Promise<void>((r) => stream.once('drain', () => r())), failed]);
  };
  let buffer = '';
  const jsonl = isJsonl(path);
  if (!jsonl) buffer += `${[...input.columns, ...names].map(csvField).join(',')}\n`;
  for (let i = 0; i < input.rows.length; i++) {
    const row = input.rows[i]!;
    if (jsonl) {
      const out: Record<string, unknown> = { ...row };
      for (let f = 0; f < names.length; f++) out[names[f]!] = values[f]![i];
      buffer += `${JSON.stringify(out)}\n`;
    } else {
      let line = '';
      for (let c = 0; c < input.columns.length; c++)
        line += `${c === 0 ? '' : ','}${csvField(row[input.columns[c]!])}`;
      for (let f = 0; f < names.length; f++) line += `,${csvField(values[f]![i])}`;
      buffer += `${line}\n`;
    }
    if (buffer.length > WRITE_BUFFER_CHARS) {
      await write(buffer);
      buffer = '';
    }
  }
  await write(buffer);
  await Promise.race([new Promise<void>((r) => stream.end(() => r())), failed]);
}
