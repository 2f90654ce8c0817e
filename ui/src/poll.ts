import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, onTokenChange, UnreachableError } from './api.js';

export interface Polled<T> {
  /** The last answer; kept while a later call fails, so a page can say "as of …". */
  data: T | undefined;
  /** The last call's failure (ApiError, UnreachableError), cleared by the next success. */
  error: unknown;
  /** True until the first call settles. */
  loading: boolean;
  /** When `data` was received (Date.now()). */
  updatedAt: number | null;
  /** Calls again now (after an action changed what the page shows). */
  reload: () => void;
}

/** How long to wait before retrying a server that did not answer: 1 s, 2 s, 4 s, then every 8 s. */
export function retryDelayMs(failures: number): number {
  return Math.min(8000, 1000 * 2 ** Math.max(0, failures - 1));
}

/**
 * Calls `load` now, again every `intervalMs` (null: once), and again whenever `deps` or the admin
 * token change. A server that does not answer is retried with a backoff; a 401 (token) or 404 (the
 * thing was deleted) stops polling until the token or deps change, since asking again cannot help.
 */
export function usePoll<T>(
  load: (signal: AbortSignal) => Promise<T>,
  intervalMs: number | null,
  deps: readonly unknown[],
): Polled<T> {
  const [state, setState] = useState<Omit<Polled<T>, 'reload'>>({
    data: undefined,
    error: undefined,
    loading: true,
    updatedAt: null,
  });
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const reload = useCallback(() => setGeneration((g) => g + 1), []);

  useEffect(() => onTokenChange(reload), [reload]);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let failures = 0;
    const run = async () => {
      try {
        const data = await loadRef.current(controller.signal);
        if (controller.signal.aborted) return;
        failures = 0;
        setState({ data, error: undefined, loading: false, updatedAt: Date.now() });
        if (intervalMs !== null) timer = setTimeout(run, intervalMs);
      } catch (error) {
        if (controller.signal.aborted) return;
        setState((s) => ({ ...s, error, loading: false }));
        if (error instanceof UnreachableError) {
          failures += 1;
          timer = setTimeout(run, retryDelayMs(failures));
        } else if (error instanceof ApiError && (error.status === 401 || error.status === 404)) {
          // wait for a new token or other deps
        } else if (intervalMs !== null) {
          timer = setTimeout(run, Math.max(intervalMs, 2000));
        }
      }
    };
    void run();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [...deps, generation, intervalMs]);

  return { ...state, reload };
}
