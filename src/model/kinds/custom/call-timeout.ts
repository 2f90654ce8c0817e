import { ErrorCode, FerryError } from '../../../core/errors.js';

/**
 * Runs a call into user code and waits for it at most `ms`: MODEL_TIMEOUT after that. The call's
 * promise is raced, not cancelled (JavaScript cannot cancel it): when it never settles, nothing of
 * Ferry waits on it any more and it is garbage once the module drops it too.
 *
 * A synchronous infinite loop cannot be interrupted this way: it blocks the event loop, this timer
 * included, and with it the whole process. Only running user code in a worker thread or another
 * process could stop it; Ferry does not do that (yet), so a custom module is trusted code.
 */
export async function callWithTimeout<T>(call: () => Promise<T> | T, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new FerryError(ErrorCode.MODEL_TIMEOUT, `${what} did not finish within ${ms} ms`)),
      ms,
    );
  });
  try {
    // .then turns a synchronous throw of `call` into a rejection.
    return await Promise.race([Promise.resolve().then(call), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
