/**
 * The dashboard's only way to the server: same-origin fetches of Ferry's own HTTP API, so what a
 * page shows is what the API says. The admin token lives in sessionStorage (this tab only, gone
 * when it closes) and is sent as `Authorization: Bearer` when a call needs it.
 */

const TOKEN_KEY = 'ferry.adminToken';

type Listener = () => void;
const tokenListeners = new Set<Listener>();
const connectionListeners = new Set<Listener>();

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage disabled: the token is asked for again
  }
}

export function setToken(token: string | null): void {
  try {
    if (token === null || token === '') sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // storage disabled: nothing to keep
  }
  for (const l of tokenListeners) l();
}

export function onTokenChange(l: Listener): () => void {
  tokenListeners.add(l);
  return () => tokenListeners.delete(l);
}

/** An answer with a Ferry error body: `code` is the stable FERRY_* code, `status` the HTTP status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The server did not answer at all (stopped, restarting, network down). */
export class UnreachableError extends Error {
  constructor() {
    super('the Ferry server is not answering');
    this.name = 'UnreachableError';
  }
}

/** Whether the last request reached the server; pages show a banner while it does not. */
let lastFailedAt: number | null = null;

export function serverUnreachableSince(): number | null {
  return lastFailedAt;
}

export function onConnectionChange(l: Listener): () => void {
  connectionListeners.add(l);
  return () => connectionListeners.delete(l);
}

function setReachable(ok: boolean): void {
  const before = lastFailedAt;
  if (ok) lastFailedAt = null;
  else lastFailedAt ??= Date.now();
  if ((before === null) !== (lastFailedAt === null)) for (const l of connectionListeners) l();
}

export interface ApiOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  /** Send the admin token (default true: it is harmless on public routes). */
  auth?: boolean;
  signal?: AbortSignal;
}

async function send(path: string, opts: ApiOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const token = opts.auth === false ? null : getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method: opts.method ?? 'GET',
      headers,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    setReachable(false);
    throw new UnreachableError();
  }
  // A proxy's 502/503/504 without Ferry's body means the server behind it is away too.
  setReachable(res.status < 502 || res.headers.get('x-request-id') !== null);
  if (!res.ok) throw await toApiError(res);
  return res;
}

async function toApiError(res: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const err = (body as { error?: unknown } | undefined)?.error;
  if (err !== null && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown; details?: unknown };
    return new ApiError(
      res.status,
      typeof e.code === 'string' ? e.code : `HTTP_${res.status}`,
      typeof e.message === 'string' ? e.message : res.statusText,
      e.details !== null && typeof e.details === 'object' ? (e.details as Record<string, unknown>) : {},
    );
  }
  // v2 routes answer {"error": "message"}.
  return new ApiError(res.status, `HTTP_${res.status}`, typeof err === 'string' ? err : res.statusText);
}

/** A JSON call to the API; rejects with ApiError (an error answer) or UnreachableError. */
export async function api<T>(path: string, opts: ApiOptions = {}): Promise<T> {
  const res = await send(path, opts);
  return (await res.json()) as T;
}

/** A text answer (GET /metrics). */
export async function apiText(path: string, opts: ApiOptions = {}): Promise<string> {
  return (await send(path, opts)).text();
}

/** A path segment, encoded (model names, experiment ids and entity ids come from the API). */
export function seg(value: string | number): string {
  return encodeURIComponent(String(value));
}
