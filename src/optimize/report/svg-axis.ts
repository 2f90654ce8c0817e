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
