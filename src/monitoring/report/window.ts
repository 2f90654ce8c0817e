import { parseDuration } from '../../core/duration.js';
import { ErrorCode, FerryError } from '../../core/errors.js';

/** A window of the prediction log: [since, until), ISO 8601 UTC with milliseconds (the log's format). */
export interface ReportWindow {
  readonly since: string;
  readonly until: string;
}

/** The longest window: a year and a day (FERRY_MONITOR_WINDOW_MS's bound). */
const MAX_WINDOW_MS = 366 * 86_400_000;

function invalid(message: string): FerryError {
  return new FerryError(ErrorCode.MONITOR_INVALID, message);
}

/** A positive duration (`core/duration.ts`: `90s`, `1h30m`, `7d`, or milliseconds), at most MAX_WINDOW_MS. */
function windowMsOf(text: string, what: string): number {
  const r = parseDuration(text);
  if (!r.ok || r.ms <= 0) {
    throw invalid(
      `${what} "${text.slice(0, 50)}" is not a positive duration (e.g. 1h, 30m, 1h30m, 7d, or milliseconds)`,
    );
  }
  if (r.ms > MAX_WINDOW_MS) throw invalid(`${what} ${text.slice(0, 50)} is longer than 366 days`);
  return r.ms;
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
  /** How the caller names the three in messages: the CLI's flags (default) or a query's parameters. */
  readonly names?: 'flags' | 'query';
}): ReportWindow {
  const name = (key: 'window' | 'since' | 'until') => (opts.names === 'query' ? key : `--${key}`);
  if (opts.window !== undefined && opts.since !== undefined && opts.until !== undefined) {
    throw invalid(`give ${name('window')} or ${name('since')} and ${name('until')}, not all three`);
  }
  const until = opts.until !== undefined ? parseInstant(opts.until, name('until')) : undefined;
  const since = opts.since !== undefined ? parseInstant(opts.since, name('since')) : undefined;
  const windowMs = opts.window !== undefined ? windowMsOf(opts.window, name('window')) : opts.defaultWindowMs;
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
