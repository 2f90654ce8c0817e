import { ErrorCode, FerryError } from '../../core/errors.js';
import type { Duration } from '../feature-definitions.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * A definition's duration (`'90s'`, `'15m'`, `'1h'`, `'7d'`, `'250ms'` or a number of milliseconds)
 * in whole milliseconds. `where` names the field in the error (FERRY_FEATURES_INVALID).
 */
export function durationMs(value: Duration, where: string): number {
  let ms: number;
  if (typeof value === 'number') ms = value;
  else {
    const m = DURATION.exec(value.trim());
    if (m === null) {
      throw new FerryError(
        ErrorCode.FEATURES_INVALID,
        `${where}: ${JSON.stringify(value)} is not a duration (e.g. '90s', '15m', '1h', '7d' or milliseconds)`,
        { details: { field: where } },
      );
    }
    ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  if (!Number.isFinite(ms) || ms < 0 || !Number.isSafeInteger(Math.round(ms))) {
    throw new FerryError(ErrorCode.FEATURES_INVALID, `${where}: ${String(value)} is not a valid duration`, {
      details: { field: where },
    });
  }
  return Math.round(ms);
}
