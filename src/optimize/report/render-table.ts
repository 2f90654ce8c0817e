import { kindLabel } from '../../model/kinds/index.js';
import type { OptimizeReport, VariantMeasurement } from '../optimize-types.js';

/*
 * The measured report as the terminal shows it: the evaluation rows, one table row per model, the
 * per-class F1 beneath. A figure that was not measured reads "n/a", never 0.
 */

const NA = 'n/a';

/** Significant digits for people: 3 of them, no exponent for ordinary magnitudes. */
function sig(x: number): string {
  if (x === 0) return '0';
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e6 ? String(Number(x.toPrecision(3))) : x.toExponential(2);
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(2)} MB`;
}

/** Sizes in KB always, so that the column compares at a glance (a variant may be 100x smaller). */
function kilobytes(bytes: number): string {
  return `${(bytes / 1024).toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })} KB`;
}

function f1(x: number | null): string {
  return x === null ? NA : x.toFixed(4);
}

function delta(x: number | null, parent: number | null): string {
  if (x === null || parent === null) return NA;
  const d = x - parent;
  return `${d >= 0 ? '+' : '-'}${Math.abs(d).toFixed(4)}`;
}

function pad(rows: readonly (readonly string[])[], rightAligned: (column: number) => boolean): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (rightAligned(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const HEADER = [
  'model',
  'kind',
  'size',
  'x parent',
  'memory',
  'load ms',
  'p50 ms',
  'p99 ms',
  'preds/s',
  'weighted F1',
  'delta F1',
  'top-1 agree',
  'mean |dp|',
];

function modelRow(m: VariantMeasurement, parent: VariantMeasurement, isParent: boolean): string[] {
  const agreement = isParent ? '-' : m.agreement === null ? NA : `${(m.agreement.top1 * 100).toFixed(1)}%`;
  const dp = isParent
    ? '-'
    : m.agreement?.meanAbsProbabilityDiff == null
      ? NA
      : m.agreement.meanAbsProbabilityDiff.toFixed(4);
  return [
    m.ref === null ? m.label : `${m.label} (${m.ref})`,
    kindLabel(m.kind),
    kilobytes(m.artifactBytes),
    `${(m.artifactBytes / parent.artifactBytes).toFixed(2)}x`,
    formatBytes(m.memoryBytes),
    sig(m.loadMs),
    sig(m.latencyP50Ms),
    sig(m.latencyP99Ms),
    Math.round(m.predictionsPerSecond).toLocaleString('en-US'),
    f1(m.weightedF1),
    isParent ? '-' : delta(m.weightedF1, parent.weightedF1),
    agreement,
    dp,
  ];
}

function perClassTable(models: readonly VariantMeasurement[]): string | null {
  const scored = models.filter((m) => m.perClassF1 !== null);
  if (scored.length === 0) return null;
  const classes = [...new Set(scored.flatMap((m) => Object.keys(m.perClassF1!)))].sort();
  const rows = [
    ['class', ...models.map((m) => m.label)],
    ...classes.map((c) => [
      c,
      ...models.map((m) => (m.perClassF1?.[c] === undefined ? NA : f1(m.perClassF1[c]!))),
    ]),
  ];
  return pad(rows, (c) => c > 0);
}

/** The report as plain text: a header on the evaluation rows, the models' table, the per-class F1, notes. */
export function renderReportTable(report: OptimizeReport): string {
  const { evalSet, parent, variants } = report;
  const models = [parent, ...variants];
  const lines = [
    `optimize report: ${models.length} models measured on ${evalSet.source} (${evalSet.rows} rows)`,
  ];
  if (evalSet.seenInTraining) {
    lines.push('note: the parent was trained on these rows, so its F1 here is optimistic');
  }
  const rows = [HEADER, ...models.map((m, i) => modelRow(m, parent, i === 0))];
  lines.push(
    '',
    pad(rows, (c) => c >= 2),
  );
  const perClass = perClassTable(models);
  if (perClass !== null) lines.push('', 'per-class F1', perClass);
  const notes = models.filter((m) => m.note !== undefined);
  if (notes.length > 0) lines.push('', ...notes.map((m) => `${m.label}: ${m.note}`));
  lines.push(
    '',
    'size: artifact bytes as stored; memory: heap + array buffers retained after loading; load: median open time;',
    'p50/p99: one row per call; preds/s: rows per second in batched calls; agreement: same top-1 label as the parent, mean |dp| over its classes',
  );
  return `${lines.join('\n')}\n`;
}
