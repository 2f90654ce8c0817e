import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { fmtNum, fmtPct } from '../../format.js';
import type { Histogram } from './report-types.js';

/** The bins' labels: "0–12" for numeric bins, the category names otherwise. */
export function binLabels(h: Histogram): string[] {
  if (h.type === 'categorical') return h.categories;
  return h.reference.map((_, i) => `${fmtNum(h.edges[i])}–${fmtNum(h.edges[i + 1])}`);
}

/**
 * Reference vs current shares per bin as side-by-side bars (uPlot), with the same figures in a
 * table under a disclosure for screen readers and exact values.
 */
export function HistogramChart({ title, histogram }: { title: string; histogram: Histogram }) {
  const box = useRef<HTMLDivElement>(null);
  const labels = binLabels(histogram);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = labels.map((_, i) => i);
    const bars = (align: -1 | 1) => uPlot.paths.bars!({ size: [0.42, 40], align });
    const plot = new uPlot(
      {
        width: Math.max(280, el.clientWidth),
        height: 200,
        scales: {
          x: { time: false, range: [-0.6, labels.length - 0.4] },
          y: { range: (_u, _min, max) => [0, Math.min(1, Math.max(0.05, (max ?? 0) * 1.15))] },
        },
        axes: [
          {
            values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? (labels[v] ?? '') : '')),
            splits: () => xs,
            rotate: labels.length > 6 ? -45 : 0,
            size: labels.length > 6 ? 80 : 40,
          },
          { values: (_u, splits) => splits.map((v) => fmtPct(v, 0)), size: 50 },
        ],
        series: [
          { value: (_u, v) => (v === null ? '—' : (labels[v] ?? '')) },
          {
            label: 'reference',
            stroke: '#0b57d0',
            fill: 'rgba(11, 87, 208, 0.55)',
            paths: bars(-1),
            points: { show: false },
            value: (_u, v) => (v === null ? '—' : fmtPct(v)),
          },
          {
            label: 'current',
            stroke: '#b3261e',
            fill: 'rgba(179, 38, 30, 0.45)',
            paths: bars(1),
            points: { show: false },
            value: (_u, v) => (v === null ? '—' : fmtPct(v)),
          },
        ],
      },
      [xs, [...histogram.reference], [...histogram.current]],
      el,
    );
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height: 200 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [histogram]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: reference and current share per bin, table below`} />
      <details>
        <summary>Values</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{histogram.type === 'numeric' ? 'Bin' : 'Category'}</th>
                <th scope="col" class="num">
                  Reference
                </th>
                <th scope="col" class="num">
                  Current
                </th>
              </tr>
            </thead>
            <tbody>
              {labels.map((l, i) => (
                <tr key={l}>
                  <th scope="row">{l}</th>
                  <td class="num">{fmtPct(histogram.reference[i])}</td>
                  <td class="num">{fmtPct(histogram.current[i])}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
