import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { ErrorCode, FerryError } from '../../core/errors.js';
import { findNul } from '../../core/text-guard.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Strict JSON bodies: invalid UTF-8 is refused (the default parser would silently turn it into
 * U+FFFD and predict on garbage), `__proto__` / `constructor.prototype` keys are refused, and so is
 * U+0000 in any string or key: one check for every JSON route (inputs, ids, units, events), since
 * PostgreSQL cannot store NUL in TEXT and would reject a whole multi-row write for it.
 */
export function registerStrictJsonParser(app: FastifyInstance): void {
  // Only JSON is accepted: fastify's default text/plain parser would let other bodies reach validation.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body: Buffer, done) => {
    let text: string;
    try {
      text = decoder.decode(body);
    } catch {
      done(new FerryError(ErrorCode.HTTP_INVALID_REQUEST, 'request body is not valid UTF-8'), undefined);
      return;
    }
    if (text.trim() === '') {
      done(new FerryError(ErrorCode.HTTP_INVALID_REQUEST, 'the JSON body is empty'), undefined);
      return;
    }
    let parsed: unknown;
    try {
      parsed = secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
    } catch (e) {
      done(
        new FerryError(ErrorCode.HTTP_INVALID_REQUEST, `malformed JSON: ${(e as Error).message}`),
        undefined,
      );
      return;
    }
    // Valid JSON can only carry NUL escaped (a raw control character is a parse error): the walk
    // of the parsed body runs only when the text holds that escape.
    const nulAt = text.includes('\\u0000') ? findNul(parsed) : undefined;
    if (nulAt !== undefined) {
      done(
        new FerryError(
          ErrorCode.HTTP_INVALID_REQUEST,
          `${nulAt}: contains U+0000 (NUL), which is not accepted`,
          { details: { field: nulAt } },
        ),
        undefined,
      );
      return;
    }
    done(null, parsed);
  });
}
