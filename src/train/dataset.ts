import { ErrorCode, FerryError } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';
import { parseCsvTable } from './csv-table.js';

export interface LabeledProject {
  id: string;
  title: string;
  description: string;
  tag: string;
  line: number;
}

export interface Dataset {
  source: string;
  /** sha256 of the file's bytes: the dataset's identity in lineage. */
  sha256: string;
  rows: LabeledProject[];
}

export interface DatasetFingerprint {
  source: string;
  sha256: string;
  rows: number;
  classes: Record<string, number>;
}

export interface ParseOptions {
  /** When given, a tag outside this list is an error (evaluation sets). */
  knownTags?: readonly string[];
}

const REQUIRED = ['title', 'description', 'tag'] as const;
const ALIASES: Record<string, string[]> = {
  title: ['name', 'project_title', 'heading'],
  description: ['desc', 'text', 'body', 'summary', 'abstract'],
  tag: ['label', 'tags', 'category', 'class', 'target'],
};
const MAX_LISTED = 10;

function lines(rows: { line: number }[]): string {
  const shown = rows.slice(0, MAX_LISTED).map((r) => r.line);
  return shown.join(', ') + (rows.length > MAX_LISTED ? ` and ${rows.length - MAX_LISTED} more` : '');
}

export function parseLabeledDataset(bytes: Uint8Array, source: string, opts: ParseOptions = {}): Dataset {
  const table = parseCsvTable(bytes, source);
  for (const col of REQUIRED) {
    if (table.columns.includes(col)) continue;
    const near = table.columns.find((c) => ALIASES[col]?.includes(c));
    throw new FerryError(
      ErrorCode.DATA_MISSING_COLUMN,
      `${source}: missing column "${col}" (found: ${table.columns.join(', ')})${near ? `; did you mean to rename "${near}" to "${col}"?` : ''}`,
      { details: { source, column: col, found: table.columns } },
    );
  }
  if (table.rows.length === 0) {
    throw new FerryError(ErrorCode.DATA_EMPTY, `${source} has a header but no rows`, {
      details: { source },
    });
  }
  const hasId = table.columns.includes('id');
  const rows: LabeledProject[] = table.rows.map(({ line, values }) => ({
    id: hasId ? values.id!.trim() : String(line),
    title: values.title!,
    description: values.description!,
    tag: values.tag!.trim(),
    line,
  }));

  const emptyText = rows.filter((r) => r.title.trim() === '' && r.description.trim() === '');
  if (emptyText.length > 0) {
    throw new FerryError(
      ErrorCode.DATA_EMPTY_TEXT,
      `${source}: ${emptyText.length} row(s) have an empty title and description (lines ${lines(emptyText)})`,
      {
        details: { source, lines: emptyText.map((r) => r.line) },
      },
    );
  }
  const missingId = rows.filter((r) => r.id === '');
  if (missingId.length > 0) {
    throw new FerryError(
      ErrorCode.DATA_MISSING_COLUMN,
      `${source}: ${missingId.length} row(s) have an empty id (lines ${lines(missingId)})`,
      {
        details: { source, lines: missingId.map((r) => r.line) },
      },
    );
  }
  const firstLine = new Map<string, number>();
  const dups: { id: string; line: number; first: number }[] = [];
  for (const r of rows) {
    const first = firstLine.get(r.id);
    if (first === undefined) firstLine.set(r.id, r.line);
    else dups.push({ id: r.id, line: r.line, first });
  }
  if (dups.length > 0) {
    const shown = dups.slice(0, MAX_LISTED).map((d) => `"${d.id}" on lines ${d.first} and ${d.line}`);
    throw new FerryError(ErrorCode.DATA_DUPLICATE_ID, `${source}: duplicate ids: ${shown.join('; ')}`, {
      details: { source, duplicates: dups.slice(0, 100) },
    });
  }
  const unlabeled = rows.filter((r) => r.tag === '');
  const unknown = opts.knownTags ? rows.filter((r) => r.tag !== '' && !opts.knownTags!.includes(r.tag)) : [];
  if (unlabeled.length > 0 || unknown.length > 0) {
    const bad = [...unlabeled, ...unknown].sort((a, b) => a.line - b.line);
    const tags = [...new Set(unknown.map((r) => r.tag))];
    const what =
      unknown.length > 0
        ? `unknown tag(s) ${tags.map((t) => `"${t}"`).join(', ')}${opts.knownTags ? ` (the model knows ${opts.knownTags.join(', ')})` : ''}`
        : 'an empty tag';
    throw new FerryError(
      ErrorCode.DATA_UNKNOWN_LABEL,
      `${source}: ${bad.length} row(s) with ${what} (lines ${lines(bad)})`,
      {
        details: { source, lines: bad.map((r) => r.line), tags },
      },
    );
  }
  return { source, sha256: sha256Hex(bytes), rows };
}

export function fingerprint(d: Dataset): DatasetFingerprint {
  const classes: Record<string, number> = {};
  for (const r of [...d.rows].sort((a, b) => (a.tag < b.tag ? -1 : 1)))
    classes[r.tag] = (classes[r.tag] ?? 0) + 1;
  return { source: d.source, sha256: d.sha256, rows: d.rows.length, classes };
}
