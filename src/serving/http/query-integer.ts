import { ErrorCode, FerryError } from '../../core/errors.js';

export interface IntegerRange {
  readonly min: number;
  readonly max: number;
}

/**
 * The JSON schema of an integer query parameter (`limit`, `offset`, …). The server's ajv does not
 * coerce query strings (coerceTypes is off, so bodies stay strict): the schema takes digits with no
 * sign and no leading zero, at most as many as `range.max` has, and `readIntegerQuery` checks the
 * range itself.
 */
export function integerQuery(range: IntegerRange, description: string) {
  const digits = String(range.max).length;
  return {
    type: 'string',
    pattern: `^(0|[1-9][0-9]{0,${digits - 1}})$`,
    description: `${description} (${range.min} to ${range.max})`,
  } as const;
}

/** The parameter's value, or undefined when absent; out of range: 400 FERRY_HTTP_INVALID_REQUEST naming it. */
export function readIntegerQuery(
  raw: string | undefined,
  name: string,
  range: IntegerRange,
): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!(Number.isSafeInteger(n) && n >= range.min && n <= range.max)) {
    throw new FerryError(
      ErrorCode.HTTP_INVALID_REQUEST,
      `${name} must be an integer from ${range.min} to ${range.max}`,
      { details: { [name]: raw } },
    );
  }
  return n;
}
