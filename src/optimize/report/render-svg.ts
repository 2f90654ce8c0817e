import type { OptimizeReport, VariantMeasurement } from '../optimize-types.js';
import { niceTicks, placeLabels } from './svg-layout.js';

/*
 * The report as a picture: two scatter panels, weighted F1 against artifact size and against p50
 * latency, one labelled point per model (the parent in another colour). Hand-written SVG: two
 * panels of points need no charting library, and the file stays self-contained.
 */

const WIDTH = 1000;
const HEIGHT = 470;
const PANEL = 500;
const MARGIN = { left: 70, right: 24, top: 62, bottom: 78 };
const FONT = 'DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif';
const PARENT_COLOUR = '#d95f02';
const VARIANT_COLOUR = '#1b9e77';

/** Text for XML content and attribute values: the five characters with a meaning in XML. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/gu, '&amp;')
    .replace(/</gu, '&lt;')
    .replace(/>/gu, '&gt;')
    .replace(/"/gu, '&quot;')
    .replace(/'/gu, '&apos;');
}

/** Coordinates with at most two decimals: the file stays short and diffs stay stable. */
function c(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${c(x)}" y="${c(y)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(content)}</text>`;
}

interface Point {
  model: VariantMeasurement;
  x: number;
  y: number;
  isParent: boolean;
}

interface PanelSpec {
  title: string;
  xTitle: string;
  x: (m: VariantMeasurement) => number;
}

function yDomain(values: readonly number[]): [number, number] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const padding = Math.max((hi - lo) * 0.15, 0.02);
  return [Math.max(0, lo - padding), Math.min(1, hi + padding)];
}

function panel(
  offsetX: number,
  spec: PanelSpec,
  points: readonly Point[],
  skipped: readonly string[],
): string {
  const left = offsetX + MARGIN.left;
  const right = offsetX + PANEL - MARGIN.right;
  const top = MARGIN.top;
  const bottom = HEIGHT - MARGIN.bottom;
  const parts: string[] = [
    text((left + right) / 2, 44, spec.title, 'text-anchor="middle" font-size="14" font-weight="bold"'),
  ];
  if (points.length === 0) {
    parts.push(
      text((left + right) / 2, (top + bottom) / 2, 'no model has this figure', 'text-anchor="middle"'),
    );
    return `<g>${parts.join('')}</g>`;
  }
  const xs = niceTicks(0, Math.max(...points.map((p) => p.x)) * 1.08);
  const ys = niceTicks(...yDomain(points.map((p) => p.y)));
  const [x0, x1] = [xs[0]!, xs[xs.length - 1]!];
  const [y0, y1] = [ys[0]!, ys[ys.length - 1]!];
  const px = (v: number) => left + ((v - x0) / (x1 - x0 || 1)) * (right - left);
  const py = (v: number) => bottom - ((v - y0) / (y1 - y0 || 1)) * (bottom - top);
  parts.push(
    `<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#444"/>`,
  );
  for (const t of xs) {
    parts.push(`<line x1="${c(px(t))}" y1="${bottom}" x2="${c(px(t))}" y2="${bottom + 5}" stroke="#444"/>`);
    parts.push(text(px(t), bottom + 18, tickLabel(t, xs), 'text-anchor="middle" font-size="11"'));
  }
  for (const t of ys) {
    parts.push(`<line x1="${left}" y1="${c(py(t))}" x2="${right}" y2="${c(py(t))}" stroke="#e3e3e3"/>`);
    parts.push(text(left - 8, py(t) + 4, tickLabel(t, ys), 'text-anchor="end" font-size="11"'));
  }
  parts.push(text((left + right) / 2, bottom + 40, spec.xTitle, 'text-anchor="middle" font-size="12"'));
  const yMid = (top + bottom) / 2;
  parts.push(
    text(
      offsetX + 18,
      yMid,
      'weighted F1',
      `text-anchor="middle" font-size="12" transform="rotate(-90 ${offsetX + 18} ${c(yMid)})"`,
    ),
  );
  // Variants first, so the parent's point is drawn on top; its label is placed first, so it gets
  // the spot nearest its point.
  const drawn = [...points].sort((a, b) => Number(a.isParent) - Number(b.isParent));
  for (const p of drawn) {
    const colour = p.isParent ? PARENT_COLOUR : VARIANT_COLOUR;
    parts.push(
      `<circle cx="${c(px(p.x))}" cy="${c(py(p.y))}" r="${p.isParent ? 7 : 5}" fill="${colour}" stroke="#222" stroke-width="${p.isParent ? 1.5 : 0.5}"/>`,
    );
  }
  const byImportance = [...drawn].reverse();
  const places = placeLabels(
    byImportance.map((p) => ({ x: px(p.x), y: py(p.y), text: p.model.label })),
    { left, right, top, bottom },
  );
  byImportance.forEach((p, i) => {
    const place = places[i]!;
    const [cx, cy] = [px(p.x), py(p.y)];
    // A label moved away from its point is tied to it by a thin line.
    if (Math.abs(place.y - 4 - cy) > 12) {
      parts.push(
        `<line x1="${c(cx)}" y1="${c(cy)}" x2="${c(place.x)}" y2="${c(place.y - 4)}" stroke="#999" stroke-width="0.6"/>`,
      );
    }
    parts.push(
      text(
        place.x,
        place.y,
        p.model.label,
        `font-size="11"${place.anchorEnd ? ' text-anchor="end"' : ''}${p.isParent ? ' font-weight="bold"' : ''}`,
      ),
    );
  });
  if (skipped.length > 0) {
    parts.push(
      text(left, HEIGHT - 12, `not plotted (F1 not measured): ${skipped.join(', ')}`, 'font-size="10"'),
    );
  }
  return `<g>${parts.join('')}</g>`;
}

/** A tick's value with as many decimals as the step between ticks needs (0.80, 0.82, ...). */
function tickLabel(v: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : 1;
  return v.toFixed(Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9))));
}

/** A self-contained SVG of the report: F1 against size (KB) and against p50 latency (ms). */
export function renderReportSvg(report: OptimizeReport): string {
  const models = [report.parent, ...report.variants];
  const scored = models.filter((m) => m.weightedF1 !== null);
  const skipped = models.filter((m) => m.weightedF1 === null).map((m) => m.label);
  const pointsOf = (spec: PanelSpec): Point[] =>
    scored.map((m) => ({ model: m, x: spec.x(m), y: m.weightedF1!, isParent: m === report.parent }));
  const size: PanelSpec = {
    title: 'Weighted F1 against size',
    xTitle: 'artifact size (KB)',
    x: (m) => m.artifactBytes / 1024,
  };
  const latency: PanelSpec = {
    title: 'Weighted F1 against latency',
    xTitle: 'p50 latency, one row per call (ms)',
    x: (m) => m.latencyP50Ms,
  };
  const { source, rows, seenInTraining } = report.evalSet;
  const heading = `ferry optimize: ${source} (${rows} rows${seenInTraining ? ', seen by the parent in training' : ''})`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${FONT}">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    text(WIDTH / 2, 20, heading, 'text-anchor="middle" font-size="13"'),
    panel(0, size, pointsOf(size), skipped),
    panel(PANEL, latency, pointsOf(latency), skipped),
    '</svg>',
    '',
  ].join('\n');
}
