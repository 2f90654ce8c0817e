import { ErrorCode, FerryError } from '../../core/errors.js';

/** A window of the prediction log: [since, until), ISO 8601 UTC with milliseconds (the log's format). */
export interface ReportWindow {
  readonly since: string;
  readonly until: string;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};
/** The longest window: a year and a day (FERRY_MONITOR_WINDOW_MS's bound). */
const MAX_WINDOW_MS = 366 * 86_400_000;

function invalid(message: string): FerryError {
  return new FerryError(ErrorCode.MONITOR_INVALID, message);
}

/** `90s`, `15m`, `1h`, `7d`, `2w`, `500ms`: a positive whole number and a unit, nothing else. */
function parseDuration(text: string, what = '--window'): number {
  const match = /^([1-9][0-9]{0,12})(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!match) {
    throw invalid(
      `${what} "${text.slice(0, 50)}" is not a duration: a whole number and ms, s, m, h, d or w (e.g. 1h, 30m, 7d)`,
    );
  }
  const ms = Number(match[1]) * UNIT_MS[match[2]!]!;
  if (ms > MAX_WINDOW_MS) throw invalid(`${what} ${text} is longer than 366 days`);
  return ms;
}

/** Strict ISO 8601 with a date and time and a zone (Z or ±hh:mm): the form the log's times compare with. */
function parseInstant(text: string, what: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
  const date = new Date(text);
  if (!iso.test(text) || Number.isNaN(date.getTime())) {
    throw invalid(
      `${what} "${text.slice(0, 50)}" is not an ISO 8601 time with a zone (e.g. 2026-01-31T12:00:00Z)`,
    );
  }
  return date;
}

/**
 * The window a report reads: `window` ending at `until` (default now), or `since`..`until` given
 * explicitly; a window and both ends at once is refused, as is an empty or inverted range.
 */
export function resolveWindow(opts: {
  readonly window?: string | undefined;
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly defaultWindowMs: number;
  readonly now: Date;
}): ReportWindow {
  if (opts.window !== undefined && opts.since !== undefined && opts.until !== undefined) {
    throw invalid('give --window or --since and --until, not all three');
  }
  const until = opts.until !== undefined ? parseInstant(opts.until, '--until') : undefined;
  const since = opts.since !== undefined ? parseInstant(opts.since, '--since') : undefined;
  const windowMs = opts.window !== undefined ? parseDuration(opts.window) : opts.defaultWindowMs;
  const end =
    until ??
    (since !== undefined && opts.window !== undefined ? new Date(since.getTime() + windowMs) : opts.now);
  const start = since ?? new Date(end.getTime() - windowMs);
  if (start.getTime() >= end.getTime()) {
    throw invalid(
      `the window is empty: since ${start.toISOString()} is not before until ${end.toISOString()}`,
    );
  }
  return { since: start.toISOString(), until: end.toISOString() };
}
