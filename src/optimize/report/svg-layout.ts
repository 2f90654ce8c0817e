/**
 * Round tick values covering [lo, hi]: a step of 1, 2 or 5 times a power of ten, about `count`
 * ticks, the first at or below lo and the last at or above hi (so points never sit outside the axis).
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi <= lo) hi = lo === 0 ? 1 : lo + Math.abs(lo) * 0.1;
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const ticks: number[] = [];
  // Multiples of the step, rounded so that 0.1 * 3 prints as 0.3.
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
  return ticks;
}

/** A label's place: where its text starts (or ends, anchored at its end) and its baseline. */
export interface LabelPlace {
  x: number;
  y: number;
  anchorEnd: boolean;
}

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Width of a label in pixels, roughly (DejaVu Sans averages 0.6 em a character). */
function labelWidth(text: string, fontSize: number): number {
  return text.length * fontSize * 0.6;
}

/**
 * Places each point's label beside it without covering another label: the first free place among
 * right or left of the point, then further up or down, off every point; points sharing a spot (a model and its
 * identical copy) get stacked labels. Greedy, in the order given (put the label that matters first).
 */
export function placeLabels(
  points: readonly { x: number; y: number; text: string }[],
  bounds: { left: number; right: number; top: number; bottom: number },
  fontSize = 11,
): LabelPlace[] {
  // The points themselves are taken: a label must not cover another model's point either.
  const placed: Box[] = points.map((p) => ({ x0: p.x - 7, y0: p.y - 7, x1: p.x + 7, y1: p.y + 7 }));
  const offsets = [-6, 14, -20, 28, -34, 42, -48, 56];
  return points.map((p) => {
    const w = labelWidth(p.text, fontSize);
    const candidates: (LabelPlace & { box: Box })[] = [];
    for (const dy of offsets) {
      for (const anchorEnd of [false, true]) {
        const x = anchorEnd ? p.x - 10 : p.x + 10;
        const y = p.y + dy;
        const x0 = anchorEnd ? x - w : x;
        candidates.push({ x, y, anchorEnd, box: { x0, y0: y - fontSize, x1: x0 + w, y1: y + 3 } });
      }
    }
    const inside = (b: Box) =>
      b.x0 >= bounds.left && b.x1 <= bounds.right && b.y0 >= bounds.top && b.y1 <= bounds.bottom;
    const free = (b: Box) =>
      placed.every((o) => b.x1 <= o.x0 || b.x0 >= o.x1 || b.y1 <= o.y0 || b.y0 >= o.y1);
    const chosen =
      candidates.find((c) => inside(c.box) && free(c.box)) ??
      candidates.find((c) => inside(c.box)) ??
      candidates[0]!;
    placed.push(chosen.box);
    return { x: chosen.x, y: chosen.y, anchorEnd: chosen.anchorEnd };
  });
}
