/** A duration as configuration gives it: milliseconds, or text such as "1h30m". */
export type Duration = string | number;

/**
 * Durations of feature definitions, drift windows and alert rules: a number of milliseconds, or text made of one or more
 * `<integer><unit>` parts, largest unit first (`90s`, `15m`, `1h30m`, `7d`, `2w`, `250ms`).
 * Units: `ms`, `s`, `m`, `h`, `d` (24 h) and `w` (7 d). Fractions and signs are not accepted in
 * text: `1.5h` is spelled `1h30m`, so every duration is an exact integer of milliseconds.
 */
const UNIT_MS = {
  w: 7 * 86_400_000,
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1000,
  ms: 1,
} as const;
type Unit = keyof typeof UNIT_MS;
const UNIT_ORDER: readonly Unit[] = ['w', 'd', 'h', 'm', 's', 'ms'];

const PART = /(\d+)(ms|w|d|h|m|s)/y;

export type DurationResult = { ok: true; ms: number } | { ok: false; reason: string };

/** Parses a duration; `reason` says what is wrong, for the definition's error list. */
export function parseDuration(value: unknown): DurationResult {
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      return { ok: false, reason: `${value} is not a finite number of milliseconds` };
    if (!Number.isInteger(value))
      return { ok: false, reason: `${value} is not a whole number of milliseconds` };
    if (!Number.isSafeInteger(value)) return { ok: false, reason: `${value} is too large` };
    return { ok: true, ms: value };
  }
  if (typeof value !== 'string') {
    return {
      ok: false,
      reason: 'expected a duration such as "90s", "15m", "1h", "7d" or a number of milliseconds',
    };
  }
  const text = value.trim();
  if (/^-?\d+$/.test(text)) return parseDuration(Number(text));
  if (text.startsWith('-') && !text.startsWith('--')) {
    // Parsed, so that the caller can say "must not be negative" rather than "not a duration".
    const r = parseDuration(text.slice(1));
    return r.ok ? { ok: true, ms: -r.ms } : r;
  }
  let ms = 0;
  let at = 0;
  let lastUnit = -1;
  while (at < text.length) {
    PART.lastIndex = at;
    const m = PART.exec(text);
    if (m === null) return { ok: false, reason: unparseable(value) };
    const unit = m[2] as Unit;
    const order = UNIT_ORDER.indexOf(unit);
    if (order <= lastUnit)
      return { ok: false, reason: `"${value}": write the units once each, largest first (e.g. "1h30m")` };
    lastUnit = order;
    ms += Number(m[1]) * UNIT_MS[unit];
    at = PART.lastIndex;
  }
  if (at === 0) return { ok: false, reason: unparseable(value) };
  if (!Number.isSafeInteger(ms)) return { ok: false, reason: `"${value}" is too large` };
  return { ok: true, ms };
}

function unparseable(value: string): string {
  return `"${value}" is not a duration; write e.g. "90s", "15m", "1h30m", "7d" or a number of milliseconds`;
}

/** The milliseconds of a duration already validated by the definition loader (throws otherwise). */
export function durationMs(value: Duration): number {
  const r = parseDuration(value);
  if (!r.ok) throw new Error(`unvalidated duration: ${r.reason}`);
  return r.ms;
}

/** `5400000` → `"1h30m"`: a text that parses back to the same milliseconds (days, not weeks: "30d"). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0ms';
  let rest = ms;
  let out = '';
  for (const unit of UNIT_ORDER.slice(1)) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * UNIT_MS[unit];
    }
  }
  return out;
}
