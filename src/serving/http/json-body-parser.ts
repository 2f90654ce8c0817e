import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { ErrorCode, FerryError } from '../../core/errors.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Strict JSON bodies: invalid UTF-8 is refused (the default parser would silently turn it into
 * U+FFFD and predict on garbage), and `__proto__` / `constructor.prototype` keys are refused.
 */
export function registerStrictJsonParser(app: FastifyInstance): void {
  // Only JSON is accepted: fastify's default text/plain parser would let other bodies reach validation.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body: Buffer, done) => {
    let text: string;
    try {
      text = decoder.decode(body);
    } catch {
      done(
        new FerryError(ErrorCode.HTTP_INVALID_REQUEST, 'request body is not valid UTF-8', { status: 400 }),
        undefined,
      );
      return;
    }
    if (text.trim() === '') {
      done(
        new FerryError(ErrorCode.HTTP_INVALID_REQUEST, 'the JSON body is empty', { status: 400 }),
        undefined,
      );
      return;
    }
    try {
      done(null, secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch (e) {
      done(
        new FerryError(ErrorCode.HTTP_INVALID_REQUEST, `malformed JSON: ${(e as Error).message}`, {
          status: 400,
        }),
        undefined,
      );
    }
  });
}
