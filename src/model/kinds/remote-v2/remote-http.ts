/**
 * One HTTP exchange with a remote Open Inference Protocol server, over the global fetch (undici,
 * which keeps connections alive by default): the body read with a size cap, the answer returned as
 * status + parsed JSON. Transport failures become FerryErrors here; what a status means is the
 * caller's decision (a 4xx is the client's fault for an inference, the operator's for metadata).
 *
 * Messages never name the remote host or URL: clients may see them (4xx), and the operator has the
 * URL in the artifact. They name the remote model instead.
 */
import { ErrorCode, FerryError } from '../../../core/errors.js';

/** The most bytes read from one answer before it is given up as garbage. */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export interface RemoteAnswer {
  readonly status: number;
  /** The parsed JSON body; undefined when the body was empty or not JSON. */
  readonly body: unknown;
  /** Seconds from a `Retry-After: <seconds>` header, when the remote sent one. */
  readonly retryAfterSeconds: number | undefined;
}

export interface RemoteRequest {
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly body?: string;
  /** Aborted by the timeout policy: fetch then closes the socket. */
  readonly signal: AbortSignal;
  /** How messages name the remote model, e.g. `remote model "sentiment" (version 2)`. */
  readonly what: string;
}

function retryAfter(header: string | null): number | undefined {
  if (header === null || !/^\d{1,6}$/.test(header.trim())) return undefined;
  return Math.min(3600, Math.max(1, Number(header.trim())));
}

/** Reads at most `limit` bytes of a body; PREDICT_FAILED past it (the declared length is checked first). */
async function readCapped(res: Response, limit: number, what: string): Promise<Uint8Array> {
  const tooLarge = () =>
    new FerryError(ErrorCode.MODEL_PREDICT_FAILED, `${what} answered more than ${limit} bytes`);
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (res.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function parseJson(bytes: Uint8Array): unknown {
  if (bytes.byteLength === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Sends one request and reads its answer. Throws MODEL_REMOTE_UNAVAILABLE when the server cannot
 * be reached (refused, reset, DNS), MODEL_TIMEOUT when the signal was aborted, MODEL_PREDICT_FAILED
 * for an answer over MAX_RESPONSE_BYTES.
 */
export async function exchange(req: RemoteRequest, limit = MAX_RESPONSE_BYTES): Promise<RemoteAnswer> {
  try {
    const res = await fetch(req.url, {
      method: req.method,
      headers: {
        accept: 'application/json',
        ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(req.body !== undefined ? { body: req.body } : {}),
      signal: req.signal,
      redirect: 'error',
    });
    const bytes = await readCapped(res, limit, req.what);
    return {
      status: res.status,
      body: parseJson(bytes),
      retryAfterSeconds: retryAfter(res.headers.get('retry-after')),
    };
  } catch (e) {
    if (e instanceof FerryError) throw e;
    if (req.signal.aborted) {
      throw new FerryError(ErrorCode.MODEL_TIMEOUT, `${req.what} did not answer in time`, { cause: e });
    }
    // The cause (undici's, with the host and port) goes to the server log, never to a client.
    throw new FerryError(ErrorCode.MODEL_REMOTE_UNAVAILABLE, `${req.what} is unreachable`, { cause: e });
  }
}

const MAX_REMOTE_MESSAGE = 300;

/**
 * The remote's `{"error": "..."}` text made safe to show a client: one line, bounded, with URLs
 * and host:port pairs blanked (a remote may name itself or its upstreams in errors).
 */
export function remoteErrorText(body: unknown, host: string): string | undefined {
  if (typeof body !== 'object' || body === null || !Object.hasOwn(body, 'error')) return undefined;
  const text = (body as { error: unknown }).error;
  if (typeof text !== 'string') return undefined;
  let clean = text
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed.
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, '<url>')
    .replace(/\b[\w.-]+:\d{2,5}\b/g, '<host>');
  if (host !== '') clean = clean.split(host).join('<host>');
  clean = clean.trim();
  if (clean.length > MAX_REMOTE_MESSAGE) clean = `${clean.slice(0, MAX_REMOTE_MESSAGE)}…`;
  return clean === '' ? undefined : clean;
}
