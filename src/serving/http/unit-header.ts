import { ErrorCode, FerryError } from '../../core/errors.js';
import { checkIdentifier } from '../../core/text-guard.js';

/**
 * The experiment unit of `X-Ferry-Unit`: one value, an identifier (≤ 256 bytes, no NUL). Checked
 * here rather than by a headers schema: fastify copies the headers to validate them.
 */
export function unitHeader(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    throw new FerryError(ErrorCode.HTTP_INVALID_REQUEST, 'X-Ferry-Unit must be given once');
  }
  return checkIdentifier(value, 'X-Ferry-Unit');
}
