import type { DriftReport, FeatureDrift } from './drift-report.js';
import type { Histogram } from './histograms.js';

/*
 * One self-contained HTML file: styles inline, plots as inline SVG, no script, no font, no image and
 * no URL of any kind, so it opens the same offline, from an e-mail or an air-gapped machine.
 */

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function num(x: number | null | undefined): string {
  if (x === null || x === undefined) return '-';
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e6 ? String(Number(x.toPrecision(4))) : x.toExponential(2);
}

const W = 420;
const H = 160;
const PAD = 24;
const REF_COLOUR = '#4c78a8';
const CUR_COLOUR = '#f58518';

/** Reference and current shares side by side per bin or category. */
function histogramSvg(h: Histogram, title: string): string {
  const n = h.reference.length;
  const top = Math.max(1e-12, ...h.reference, ...h.current);
  const slot = (W - 2 * PAD) / Math.max(1, n);
  const bar = Math.max(1, slot / 2 - 1);
  const y = (v: number) => H - PAD - (v / top) * (H - 2 * PAD);
  const bars: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = PAD + i * slot;
    const label = h.type === 'numeric' ? `${num(h.edges[i])} .. ${num(h.edges[i + 1])}` : h.categories[i]!;
    for (const [k, v, colour] of [
      [0, h.reference[i]!, REF_COLOUR],
      [1, h.current[i]!, CUR_COLOUR],
    ] as const) {
      bars.push(
        `<rect x="${num(x + k * (bar + 1))}" y="${num(y(v))}" width="${num(bar)}" height="${num(H - PAD - y(v))}" fill="${colour}"><title>${esc(label)}: ${k === 0 ? 'reference' : 'current'} ${num(v)}</title></rect>`,
      );
    }
  }
  const axis =
    h.type === 'numeric'
      ? `<text x="${PAD}" y="${H - 6}" font-size="10">${esc(num(h.edges[0]))}</text><text x="${W - PAD}" y="${H - 6}" font-size="10" text-anchor="end">${esc(num(h.edges.at(-1)))}</text>`
      : `<text x="${PAD}" y="${H - 6}" font-size="10">${n} categories (hover for names)</text>`;
  return `<svg role="img" aria-label="${esc(title)}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"><line x1="${PAD}" y1="${H - PAD}" x2="${W - PAD}" y2="${H - PAD}" stroke="#888"/>${bars.join('')}${axis}</svg>`;
}

function featureSection(f: FeatureDrift, group: string): string {
  const d = f.drift;
  const verdict =
    d === null ? esc(f.note ?? 'not compared') : d.drifted ? '<b class="drift">drift</b>' : 'no drift';
  const stats = d
    ? `${esc(d.method)} ${num(d.score)} (threshold ${num(d.threshold)}), PSI ${num(d.psi)}`
    : '';
  return `<section><h3>${esc(group)} ${esc(f.name)} <small>${esc(f.type)}</small></h3>
<p>${verdict}${stats ? ` — ${stats}` : ''}; values: reference ${f.reference.count}, window ${f.current.count}</p>
${f.histogram ? histogramSvg(f.histogram, `${f.name}: reference vs window`) : ''}</section>`;
}

export function renderHtml(report: DriftReport): string {
  const title = `Drift report: ${report.model}/${report.version}`;
  const parts: string[] = [
    `<h1>${esc(title)}</h1>`,
    `<p>Window ${esc(report.window.since)} .. ${esc(report.window.until)}: ${report.counts.requests} requests, ${report.counts.items} items, ${report.counts.analysed} analysed.<br>Reference: ${esc(report.reference.source)} (${report.reference.rows} rows, ${esc(report.reference.createdAt)}).</p>`,
  ];
  if (report.status === 'no-data') {
    parts.push(
      '<p class="drift"><b>No data</b>: no prediction of this version was logged in the window.</p>',
    );
  } else {
    const ds = report.dataset;
    parts.push(
      `<p>Dataset drift: ${ds.driftedColumns} of ${ds.columns} input columns drifted (share ${num(ds.share)}, threshold ${num(ds.threshold)}): ${ds.drifted ? '<b class="drift">drift</b>' : 'no drift'}.</p>`,
      `<p><span style="color:${REF_COLOUR}">■ reference</span> <span style="color:${CUR_COLOUR}">■ window</span></p>`,
    );
    if (report.text) {
      const d = report.text.drift;
      parts.push(
        `<section><h2>Text</h2><p>${d === null ? 'no texts to compare' : `domain classifier ROC AUC ${num(d.rocAuc)} (threshold ${num(d.threshold)}): ${d.drifted ? '<b class="drift">drift</b>' : 'no drift'}`}</p>
<p>Out-of-vocabulary rate: reference ${num(report.text.oovRate.reference)}, window ${num(report.text.oovRate.current)}.</p>
${d && d.topTerms.length > 0 ? `<p>Words marking the window: ${d.topTerms.map(esc).join(', ')}</p>` : ''}</section>`,
      );
    }
    parts.push('<h2>Inputs</h2>', ...report.features.map((f) => featureSection(f, 'input')));
    parts.push('<h2>Outputs</h2>', ...report.outputs.map((f) => featureSection(f, 'output')));
  }
  if (report.quality) {
    parts.push(
      `<h2>Quality</h2><p>${report.quality.labeled} labels matched, ${report.quality.unmatched} unmatched.</p><table><tr><th>version</th><th>labels</th><th>accuracy</th><th>weighted F1</th></tr>${report.quality.versions.map((v) => `<tr><td>${v.version}</td><td>${v.labeled}</td><td>${num(v.accuracy)}</td><td>${num(v.f1)}</td></tr>`).join('')}</table>`,
    );
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}section{border-top:1px solid #ddd;padding:.5em 0}.drift{color:#c0392b}small{color:#777}td,th{padding:.2em .8em;text-align:left}</style>
</head><body>
${parts.join('\n')}
</body></html>
`;
}
