import type { DriftReport, FeatureDrift } from './drift-report.js';

/** A number for people: 4 significant digits, no exponent for ordinary magnitudes. */
function num(x: number | null | undefined): string {
  if (x === null || x === undefined) return '-';
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e6 ? String(Number(x.toPrecision(4))) : x.toExponential(2);
}

function pad(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function featureRows(list: readonly FeatureDrift[]): string[][] {
  return list.map((f) => [
    f.name,
    f.type,
    f.drift?.method ?? '-',
    num(f.drift?.score),
    num(f.drift?.threshold),
    num(f.drift?.psi),
    f.drift === null ? (f.note ?? '-') : f.drift.drifted ? 'DRIFT' : 'ok',
    `${f.reference.count}/${f.current.count}`,
  ]);
}

/** The report as the terminal shows it: a header, one table of features and outputs, the text, quality. */
export function renderTable(report: DriftReport): string {
  const lines = [
    `drift report: ${report.model}/${report.version}, ${report.window.since} .. ${report.window.until}`,
    `reference: ${report.reference.source} (${report.reference.rows} rows, ${report.reference.createdAt})`,
    `window: ${report.counts.requests} requests, ${report.counts.items} items, ${report.counts.analysed} analysed`,
  ];
  if (report.status === 'no-data') {
    lines.push('no data: no prediction of this version was logged in the window; nothing to compare');
    return `${lines.join('\n')}\n`;
  }
  const header = ['feature', 'type', 'method', 'score', 'threshold', 'psi', 'result', 'ref/cur n'];
  const rows = [header, ...featureRows(report.features)];
  if (report.outputs.length > 0)
    rows.push(...featureRows(report.outputs).map((r) => [`output ${r[0]}`, ...r.slice(1)]));
  lines.push('', pad(rows));
  if (report.text) {
    const d = report.text.drift;
    lines.push(
      '',
      d === null
        ? 'text: no texts to compare'
        : `text: domain classifier ROC AUC ${num(d.rocAuc)} (threshold ${num(d.threshold)}): ${d.drifted ? 'DRIFT' : 'ok'}${d.topTerms.length > 0 ? `; words marking the window: ${d.topTerms.slice(0, 10).join(', ')}` : ''}`,
      `out-of-vocabulary rate: reference ${num(report.text.oovRate.reference)}, window ${num(report.text.oovRate.current)} (vocabulary of ${report.text.vocabularySize} tokens)`,
    );
  }
  const ds = report.dataset;
  lines.push(
    '',
    `dataset drift: ${ds.driftedColumns} of ${ds.columns} input columns drifted (share ${num(ds.share)}, threshold ${num(ds.threshold)}): ${ds.drifted ? 'DRIFT' : 'no drift'}`,
  );
  if (report.quality) {
    const q = report.quality;
    lines.push(`quality: ${q.labeled} labels matched, ${q.unmatched} unmatched`);
    for (const v of q.versions)
      lines.push(
        `  version ${v.version}: accuracy ${num(v.accuracy)}, weighted F1 ${num(v.f1)} on ${v.labeled} labels`,
      );
  }
  return `${lines.join('\n')}\n`;
}
