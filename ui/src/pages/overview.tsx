import { api } from '../api.js';
import { AccessNote, ErrorNotice, UpdatedAt } from '../components/notices.js';
import { usePoll } from '../poll.js';
import { href } from '../route.js';

interface ServerMetadata {
  name: string;
  version: string;
  extensions?: string[];
}

/** The landing page: which server this is, whether it is ready, where each page is. */
export function OverviewPage() {
  const meta = usePoll((signal) => api<ServerMetadata>('/v2', { signal, auth: false }), 10_000, []);
  const ready = usePoll(
    async (signal) => {
      try {
        await api<unknown>('/v2/health/ready', { signal, auth: false });
        return true;
      } catch (e) {
        if ((e as { status?: number }).status === 503) return false;
        throw e;
      }
    },
    5_000,
    [],
  );
  return (
    <section>
      <h1>Overview</h1>
      <AccessNote needsToken={false} />
      <ErrorNotice error={meta.error ?? ready.error} what="the server's metadata" />
      {meta.data && (
        <dl class="facts">
          <dt>Server</dt>
          <dd data-testid="server-name">
            {meta.data.name} {meta.data.version}
          </dd>
          <dt>Ready</dt>
          <dd data-testid="server-ready">
            {ready.data === undefined ? '…' : ready.data ? 'yes: models loaded and warm' : 'not yet (503)'}
          </dd>
          <dt>Protocol</dt>
          <dd>
            Open Inference Protocol v2
            {meta.data.extensions?.length ? ` (${meta.data.extensions.join(', ')})` : ''}
          </dd>
        </dl>
      )}
      <UpdatedAt at={meta.updatedAt} />
      <h2>Pages</h2>
      <ul>
        <li>
          <a href={href('models')}>Models</a>: versions, metrics, lineage, aliases and their history; promote
          and roll back (token).
        </li>
        <li>
          <a href={href('traffic')}>Live traffic</a>: requests/s, latency, batching, cache and shedding, from
          /metrics (public).
        </li>
        <li>
          <a href={href('experiments')}>Experiments</a>: A/B tests, bandits, canaries and shadow tests
          (token).
        </li>
        <li>
          <a href={href('monitoring')}>Monitoring</a>: drift, detectors and alerts.
        </li>
        <li>
          <a href={href('batch')}>Batch jobs</a>: progress, rejects, per-worker rates (token).
        </li>
        <li>
          <a href={href('features')}>Features and streams</a>: freshness, lag, dead letters.
        </li>
      </ul>
      <p>
        The API behind every page: <a href="/docs">/docs</a> (OpenAPI). Metrics for Prometheus:{' '}
        <a href="/metrics">/metrics</a>.
      </p>
    </section>
  );
}
