import { useEffect, useState } from 'preact/hooks';
import { ApiError, onConnectionChange, serverUnreachableSince, UnreachableError } from '../api.js';
import { fmtTime } from '../format.js';

/** A failed call in plain words; the FERRY_* code stays visible for searching the docs. */
export function ErrorNotice({ error, what }: { error: unknown; what?: string }) {
  if (error === undefined || error === null) return null;
  const subject = what ?? 'this';
  let text: string;
  if (error instanceof UnreachableError) {
    text = `Could not load ${subject}: the server is not answering. Retrying…`;
  } else if (error instanceof ApiError && error.status === 401) {
    text = `The admin token is missing or was refused (${error.message}). Enter the server's FERRY_ADMIN_TOKEN in the token box at the top of the page.`;
  } else if (error instanceof ApiError && error.status === 404) {
    text = `Not found: ${error.message}. It may have been deleted.`;
  } else if (error instanceof ApiError) {
    text = `${error.message} (${error.code}, HTTP ${error.status})`;
  } else {
    text = `Unexpected error: ${error instanceof Error ? error.message : String(error)}`;
  }
  return (
    <p class="notice notice-error" role="alert" data-testid="error-notice">
      {text}
    </p>
  );
}

/** Shown on every page while the server does not answer; the pages keep their last data. */
export function ConnectionBanner() {
  const [since, setSince] = useState(serverUnreachableSince());
  useEffect(() => onConnectionChange(() => setSince(serverUnreachableSince())), []);
  if (since === null) return null;
  return (
    <div class="banner" role="status" aria-live="polite" data-testid="connection-banner">
      Lost contact with the Ferry server at {location.origin} since {fmtTime(since)}. Retrying; the figures
      below are the last ones received.
    </div>
  );
}

/** Whether a page needs the admin token, said once at its top. */
export function AccessNote({ needsToken }: { needsToken: boolean }) {
  return needsToken ? (
    <p class="access access-token">Needs the admin token (FERRY_ADMIN_TOKEN) to read and to act.</p>
  ) : (
    <p class="access access-public">Read-only and public: no token needed.</p>
  );
}

/** "as of 09:14:03" beside polled figures. */
export function UpdatedAt({ at }: { at: number | null }) {
  return at === null ? null : <span class="muted">as of {fmtTime(at)}</span>;
}
