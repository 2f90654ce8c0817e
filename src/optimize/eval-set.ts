import { ErrorCode, FerryError, isFerryError } from '../core/errors.js';
import type { ModelVersion } from '../registry/types.js';
import { parseCsvTable } from '../train/csv-table.js';
import { type Dataset, type LabeledProject, parseLabeledDataset } from '../train/dataset.js';
import { stratifiedSplit } from '../train/split.js';
import { invalidOption } from './optimize-options.js';
import type { EvalSet, TrainingRows } from './optimize-types.js';

/*
 * Which rows a report is measured on, and which rows a method may train on: never the same ones.
 * The default evaluation rows are the parent's own validation split, re-derived from the dataset
 * record `ferry train` stored with it; the holdout file is never a default (it is kept for the
 * final test, which nothing here may choose on).
 */

/** Reads a dataset location (a path or a URL, cached): bytes and the source to name in lineage. */
export type ReadData = (loc: string) => Promise<{ bytes: Uint8Array; source: string }>;

export interface EvalChoice {
  evalSet: EvalSet;
  /** The parent's training file when it was read to re-derive the split (reused for training rows). */
  parentData: Dataset | null;
}

/** The split `ferry train` made, as its dataset record describes it; null when the record cannot give one. */
interface SplitRecord {
  source: string;
  sha256: string;
  seed: number;
  validationFraction: number;
}

function splitRecordOf(version: ModelVersion): SplitRecord | null {
  const d = version.dataset;
  const { source, sha256, seed, validationFraction } = d;
  if (typeof source !== 'string' || typeof sha256 !== 'string') return null;
  if (typeof seed !== 'number' || typeof validationFraction !== 'number') return null;
  // A retrain that added feedback rows split the file plus those rows: the file alone cannot give it.
  if (typeof d.baseSha256 === 'string' && d.baseSha256 !== sha256) return null;
  return { source, sha256, seed, validationFraction };
}

/**
 * Whether the version's weights come from a fit that included its validation rows: `ferry train`
 * measures on the split, then refits on every row (its default); a variant records what it knows
 * (`validationRowsSeen`), e.g. a student distilled without the evaluation rows.
 */
export function sawValidationRows(version: ModelVersion): boolean {
  return version.dataset.validationRowsSeen !== false && version.dataset.refitOnAll !== false;
}

function ref(v: ModelVersion): string {
  return `${v.name}/${v.version}`;
}

export async function chooseEvalSet(
  parent: ModelVersion,
  classes: readonly string[],
  evalLoc: string | undefined,
  read: ReadData,
): Promise<EvalChoice> {
  const knownTags = classes.length > 0 ? { knownTags: classes } : {};
  if (evalLoc !== undefined) {
    const fetched = await read(evalLoc);
    const data = parseLabeledDataset(fetched.bytes, fetched.source, knownTags);
    // The parent's own training file given as --eval-loc: its rows were all seen (refit on all).
    const trainedOnIt = data.sha256 === parent.dataset.sha256 || data.sha256 === parent.dataset.baseSha256;
    return {
      evalSet: {
        source: data.source,
        rows: data.rows,
        seenInTraining: trainedOnIt && sawValidationRows(parent),
      },
      parentData: null,
    };
  }
  const record = splitRecordOf(parent);
  if (record === null) {
    throw invalidOption(
      `${ref(parent)} has no dataset record to re-derive its validation split from (source, sha256, seed, validationFraction); ` +
        'pass --eval-loc <labeled csv> with rows it was not trained on (never the holdout kept for the final test)',
      { model: ref(parent) },
    );
  }
  const fetched = await read(record.source).catch((e: unknown) => {
    if (!isFerryError(e, ErrorCode.DATA_NOT_FOUND)) throw e;
    // A relative path is read from where `ferry train` ran: say where the name came from.
    throw new FerryError(
      e.code,
      `${e.message} (named by the dataset record of ${ref(parent)}; run from where it was trained, or pass --eval-loc)`,
      { details: e.details, cause: e },
    );
  });
  const data = parseLabeledDataset(fetched.bytes, fetched.source);
  if (data.sha256 !== record.sha256) {
    throw invalidOption(
      `${record.source} changed since ${ref(parent)} was trained on it (sha256 ${data.sha256.slice(0, 12)}, ` +
        `recorded ${record.sha256.slice(0, 12)}): its validation split cannot be re-derived; pass --eval-loc <labeled csv>`,
      { source: record.source, expectedSha256: record.sha256, actualSha256: data.sha256 },
    );
  }
  // Exactly the pipeline's split (train/pipeline.ts): the same labels, fraction and seed.
  const split = stratifiedSplit(
    data.rows.map((r) => r.tag),
    record.validationFraction,
    record.seed,
  );
  const rows = split.test.map((i) => data.rows[i]!);
  return {
    evalSet: {
      source: `the validation split of ${record.source} (seed ${record.seed}, fraction ${record.validationFraction})`,
      rows,
      seenInTraining: sawValidationRows(parent),
    },
    parentData: data,
  };
}

function textKey(row: { title: string; description: string }): string {
  return `${row.title}\u0000${row.description}`;
}

/** Rows that are not evaluation rows: neither the same id nor the same title and description. */
function withoutEvalRows<T extends { id: string | null; title: string; description: string }>(
  rows: readonly T[],
  evalRows: readonly LabeledProject[],
): T[] {
  const ids = new Set(evalRows.map((r) => r.id));
  const texts = new Set(evalRows.map(textKey));
  return rows.filter((r) => !(r.id !== null && ids.has(r.id)) && !texts.has(textKey(r)));
}

/** Labeled rows to fine-tune or distill on: --data-loc or the parent's training file, minus the evaluation rows. */
export async function trainingRowsFor(
  parent: ModelVersion,
  classes: readonly string[],
  choice: EvalChoice,
  dataLoc: string | undefined,
  read: ReadData,
): Promise<TrainingRows | null> {
  let data: Dataset;
  if (dataLoc === undefined && choice.parentData !== null) data = choice.parentData;
  else {
    const loc = dataLoc ?? (typeof parent.dataset.source === 'string' ? parent.dataset.source : undefined);
    if (loc === undefined) return null;
    const fetched = await read(loc);
    data = parseLabeledDataset(
      fetched.bytes,
      fetched.source,
      classes.length > 0 ? { knownTags: classes } : {},
    );
  }
  const rows = withoutEvalRows(data.rows, choice.evalSet.rows);
  if (rows.length === 0) {
    throw invalidOption(`${data.source} has no rows left once the evaluation rows are taken out`, {
      source: data.source,
    });
  }
  return { source: data.source, rows };
}

/** Texts without labels (--unlabeled-loc: title, description, optionally id), minus the evaluation rows. */
export async function unlabeledTexts(
  loc: string,
  evalRows: readonly LabeledProject[],
  read: ReadData,
): Promise<{ source: string; texts: { title: string; description: string }[]; dropped: number }> {
  const fetched = await read(loc);
  const table = parseCsvTable(fetched.bytes, fetched.source);
  for (const column of ['title', 'description']) {
    if (!table.columns.includes(column)) {
      throw new FerryError(
        ErrorCode.DATA_MISSING_COLUMN,
        `${fetched.source}: missing column "${column}" (found: ${table.columns.join(', ')})`,
        { details: { source: fetched.source, column, found: table.columns } },
      );
    }
  }
  const hasId = table.columns.includes('id');
  const rows = table.rows
    .map(({ values }) => ({
      id: hasId ? (values.id ?? '').trim() : null,
      title: values.title ?? '',
      description: values.description ?? '',
    }))
    .filter((r) => `${r.title}${r.description}`.trim() !== '');
  const kept = withoutEvalRows(rows, evalRows);
  return {
    source: fetched.source,
    texts: kept.map(({ title, description }) => ({ title, description })),
    dropped: rows.length - kept.length,
  };
}
