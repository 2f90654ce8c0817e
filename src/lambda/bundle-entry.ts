/**
 * The entry of the Lambda bundle (scripts/build-lambda.ts): the model loads while the module is
 * evaluated, in Lambda's init phase (which does not count toward the first request's timeout and
 * gets a full CPU), so the first invocation finds the server ready; a failure (a missing bundle,
 * a checksum mismatch) fails the init with its message in the function's log.
 */
import { handler } from './handler.js';

await handler.ready();

export { handler };
