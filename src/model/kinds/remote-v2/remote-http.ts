/**
 * One HTTP exchange with a remote Open Inference Protocol server: the body read with a size cap,
 * the answer returned as status + parsed JSON. Transport failures become FerryErrors here; what a
 * status means is the caller's decision (a 4xx is the client's fault for an inference, the
 * operator's for metadata).
 *
 * node:http with a keep-alive Agent rather than the global fetch: on Node 20, against a local
 * server, fetch (undici) gave a quarter to a seventh of the requests per second for the same CPU
 * (bench/remote-http-client.ts). The Agent also honours the server's `Keep-Alive: timeout` hint,
 * so an idle socket is not reused just as the server closes it.
 *
 * Messages never name the remote host or URL: clients may see them (4xx), and the operator has the
 * URL in the artifact. They name the remote model instead.
 */
import http from 'node:http';
import https from 'node:https';
import { ErrorCode, FerryError } from '../../../core/errors.js';

/** The most bytes read from one answer before it is given up as garbage. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

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
  /** Aborted by the timeout policy: the request and its socket are destroyed. */
  readonly signal: AbortSignal;
  /** How messages name the remote model, e.g. `remote model "sentiment" version "2"`. */
  readonly what: string;
}

/** A keep-alive pool for one remote model's server (the defaults of Node's global agent). */
export function remoteAgent(url: string): http.Agent {
  const options = { keepAlive: true, scheduling: 'lifo', timeout: 5000 } as const;
  return url.startsWith('https:') ? new https.Agent(options) : new http.Agent(options);
}

function retryAfter(header: string | string[] | undefined): number | undefined {
  if (typeof header !== 'string' || !/^\d{1,6}$/.test(header.trim())) return undefined;
  return Math.min(3600, Math.max(1, Number(header.trim())));
}

function parseJson(bytes: Buffer): unknown {
  if (bytes.byteLength === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

/**
 * Sends one request and reads its answer. Rejects with MODEL_REMOTE_UNAVAILABLE when the server
 * cannot be reached (refused, reset, DNS), MODEL_TIMEOUT when the signal was aborted,
 * MODEL_PREDICT_FAILED for an answer over `limit` bytes (the declared length is checked first).
 */
export function exchange(
  req: RemoteRequest,
  agent: http.Agent,
  limit = MAX_RESPONSE_BYTES,
): Promise<RemoteAnswer> {
  return new Promise((resolve, reject) => {
    const fail = (e: unknown) => {
      if (e instanceof FerryError) return reject(e);
      if (req.signal.aborted) {
        return reject(
          new FerryError(ErrorCode.MODEL_TIMEOUT, `${req.what} did not answer in time`, { cause: e }),
        );
      }
      // The cause (with the host and port) goes to the server log, never to a client.
      reject(new FerryError(ErrorCode.MODEL_REMOTE_UNAVAILABLE, `${req.what} is unreachable`, { cause: e }));
    };
    const tooLarge = () =>
      new FerryError(ErrorCode.MODEL_PREDICT_FAILED, `${req.what} answered more than ${limit} bytes`);
    const send = req.url.startsWith('https:') ? https.request : http.request;
    const body = req.body === undefined ? undefined : Buffer.from(req.body, 'utf8');
    const request = send(
      req.url,
      {
        method: req.method,
        agent,
        signal: req.signal,
        headers: {
          accept: 'application/json',
          ...(body !== undefined
            ? { 'content-type': 'application/json', 'content-length': body.length }
            : {}),
        },
      },
      (res) => {
        if (Number(res.headers['content-length'] ?? 0) > limit) {
          fail(tooLarge());
          return res.destroy();
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limit) {
            // Rejected first (a promise settles once), then the socket closed: the rest is never read.
            fail(tooLarge());
            return res.destroy();
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: parseJson(Buffer.concat(chunks)),
            retryAfterSeconds: retryAfter(res.headers['retry-after']),
          }),
        );
        res.on('aborted', () => fail(new Error('the answer was cut short')));
      },
    );
    request.on('error', fail);
    request.end(body);
  });
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
