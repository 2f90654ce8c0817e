/** Number formatting shared by the pages: one place decides how a figure reads. */

const dash = '—';

function finite(n: number | null | undefined): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

/** 12,345 / 0.123 / 1.23e-7: at most `digits` significant digits for small values. */
export function fmtNum(n: number | null | undefined, digits = 3): string {
  if (!finite(n)) return dash;
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  const abs = Math.abs(n);
  if (abs !== 0 && abs < 1e-4) return n.toExponential(digits - 1);
  return n.toLocaleString('en-US', {
    maximumSignificantDigits: Math.max(digits, Math.ceil(Math.log10(abs + 1))),
  });
}

/** 0.1234 → "12.3 %". */
export function fmtPct(ratio: number | null | undefined, digits = 1): string {
  return finite(ratio) ? `${(ratio * 100).toFixed(digits)} %` : dash;
}

/** Seconds → "850 µs", "12.4 ms", "1.20 s". */
export function fmtSeconds(s: number | null | undefined): string {
  if (!finite(s)) return dash;
  if (s < 1e-3) return `${(s * 1e6).toFixed(0)} µs`;
  if (s < 1) return `${(s * 1e3).toPrecision(3)} ms`;
  return `${s.toPrecision(3)} s`;
}

export function fmtBytes(n: number | null | undefined): string {
  if (!finite(n)) return dash;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** An ISO time or epoch milliseconds as local "2026-12-07 09:14:03". */
export function fmtTime(t: string | number | null | undefined): string {
  if (t === null || t === undefined || t === '') return dash;
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
