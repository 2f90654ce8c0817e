import { ErrorCode, FerryError } from '../core/errors.js';

/** Node's socket error codes that mean "the server cannot be reached", whatever the protocol. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

/** Parses a server URL of one of `protocols` (e.g. ['redis:', 'rediss:']); errors never echo the URL. */
export function parseServerUrl(url: string, label: string, protocols: readonly string[]): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (e) {
    throw new FerryError(ErrorCode.CONFIG_INVALID, `the ${label} URL is not a valid URL`, {
      cause: e,
    });
  }
  if (!protocols.includes(parsed.protocol)) {
    const expected = protocols.map((p) => `${p}//`).join(' or ');
    throw new FerryError(
      ErrorCode.CONFIG_INVALID,
      `a ${label} URL must start with ${expected}, got ${parsed.protocol}//`,
    );
  }
  return parsed;
}

/** Decodes a URL part; a malformed %-escape must not turn a config error into a crash. */
export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Removes a secret (a password) from a driver's message before it reaches a log or a user. */
export function scrubSecret(message: string, secret: string): string {
  return secret === '' ? message : message.split(secret).join('***');
}
