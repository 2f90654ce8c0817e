import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Colours with at least 3:1 contrast on white (WCAG's figure for graphics), told apart by dash too. */
const PALETTE = ['#0b57d0', '#b3261e', '#137333', '#8430ce', '#b06000', '#00639b'];
const DASHES: number[][] = [[], [6, 3], [2, 2], [8, 3, 2, 3]];

export interface ChartSeries {
  label: string;
  /** Formats a value in the legend (units). */
  format?: (v: number) => string;
}

/**
 * A time-series line chart (uPlot). `data[0]` is the x axis in Unix seconds, then one array per
 * series (null: no point). The figure carries a text description for screen readers.
 */
export function TimeChart({
  title,
  series,
  data,
  height = 220,
  yLabel,
  xIsTime = true,
  yFormat,
  yRange,
  xRange,
}: {
  title: string;
  series: ChartSeries[];
  data: (number | null)[][];
  height?: number;
  yLabel?: string;
  xIsTime?: boolean;
  /** Formats the y axis' tick values (units), e.g. fmtSeconds. */
  yFormat?: (v: number) => string;
  /** A fixed y range, e.g. [0, 1] for a ratio; default: fitted to the data (from 0 when all ≥ 0). */
  yRange?: [number, number];
  /** The x range shown (e.g. the last 5 minutes in Unix seconds), followed as it moves; default: the data's. */
  xRange?: [number, number];
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const xRangeRef = useRef(xRange);
  xRangeRef.current = xRange;
  const key = series.map((s) => s.label).join('\u0000');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height,
      scales: {
        x: {
          time: xIsTime,
          // One point (or none) would otherwise spread the axis over years.
          range: (_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax => {
            if (xRangeRef.current) return xRangeRef.current;
            if (min === null || max === null) return [0, 1];
            return min < max ? [min, max] : [min - 60, max + 60];
          },
        },
        y: yRange
          ? { range: () => yRange }
          : {
              // From 0 (rates, latencies), with headroom; [0, 1] before any data.
              range: (_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax => {
                if (min === null || max === null || !Number.isFinite(min) || !Number.isFinite(max))
                  return [0, 1];
                const lo = Math.min(0, min);
                return [lo, max > lo ? max + (max - lo) * 0.1 : lo + 1];
              },
            },
      },
      axes: [
        {},
        {
          label: yLabel ?? '',
          size: 64,
          ...(yFormat ? { values: (_u: uPlot, splits: number[]) => splits.map((v) => yFormat(v)) } : {}),
        },
      ],
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length] ?? '#000',
          dash: DASHES[i % DASHES.length] ?? [],
          width: 2,
          spanGaps: false,
          ...(s.format ? { value: (_u: uPlot, v: number | null) => (v === null ? '—' : s.format!(v)) } : {}),
        })),
      ],
    };
    plot.current = new uPlot(opts, data as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => {
      plot.current?.setSize({ width: Math.max(280, el.clientWidth), height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [key, height, yLabel, xIsTime, yRange?.[0], yRange?.[1]]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data, xRange?.[0], xRange?.[1]]);

  const last = series.map((s, i) => {
    const ys = data[i + 1] ?? [];
    const v = ys.length > 0 ? ys[ys.length - 1] : null;
    return `${s.label}: ${v === null || v === undefined ? 'no data' : s.format ? s.format(v) : String(v)}`;
  });
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}. Latest: ${last.join('; ')}`} />
    </figure>
  );
}
