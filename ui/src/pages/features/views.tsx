import { ApiError, api } from '../../api.js';
import { ErrorNotice, UpdatedAt } from '../../components/notices.js';
import { fmtNum, fmtTime } from '../../format.js';
import { usePoll } from '../../poll.js';
import { fmtAge } from './age.js';
import type { FeaturesStatus, FeatureViewStatus } from './types.js';

const POLL_MS = 5000;

/** An answer the page says in words rather than as an error: nothing applied, or an older server. */
type Loaded<T> = { data: T } | { none: string };

async function loadViews(signal: AbortSignal): Promise<Loaded<FeaturesStatus>> {
  try {
    return { data: await api<FeaturesStatus>('/v1/features/status', { signal }) };
  } catch (e) {
    if (e instanceof ApiError && e.code === 'FERRY_FEATURES_NOT_APPLIED') {
      return {
        none: 'No feature repository on this server: no feature definitions are applied. Write features.json and run `ferry features apply`, then `ferry features materialize`.',
      };
    }
    if (e instanceof ApiError && e.code === 'FERRY_HTTP_NOT_FOUND') {
      return { none: 'This server does not serve feature status (GET /v1/features/status).' };
    }
    throw e;
  }
}

function Freshness({ view }: { view: FeatureViewStatus }) {
  if (view.freshness_seconds === null) return <span class="muted">never materialized</span>;
  return (
    <>
      {fmtAge(view.freshness_seconds)} old{' '}
      {view.stale ? (
        <span
          class="badge badge-bad"
          data-testid="stale-badge"
          title="Older than the TTL: online reads of these values answer EXPIRED"
        >
          stale
        </span>
      ) : (
        <span class="badge badge-ok" title="Within the TTL">
          fresh
        </span>
      )}
    </>
  );
}

function LastRun({ view }: { view: FeatureViewStatus }) {
  const run = view.last_materialization;
  if (run === null) {
    return view.pipelines.length > 0 ? (
      <span class="muted">streamed by {view.pipelines.join(', ')}</span>
    ) : (
      <span class="muted">none</span>
    );
  }
  return (
    <>
      {run.mode}, {run.status === 'done' ? `finished ${fmtTime(run.finished_at)}` : 'running'}:{' '}
      {fmtNum(run.rows)} rows read, {fmtNum(run.written)} written
      {run.bad > 0 ? (
        <>
          , <span class="badge badge-warn">{fmtNum(run.bad)} bad</span>
        </>
      ) : null}
      {view.pipelines.length > 0 ? (
        <span class="muted"> · streamed by {view.pipelines.join(', ')}</span>
      ) : null}
    </>
  );
}

/** Feature views: how old their newest values are, against their TTL. */
export function FeatureViews() {
  const polled = usePoll(loadViews, POLL_MS, []);
  const loaded = polled.data;
  return (
    <section aria-labelledby="views-heading">
      <h2 id="views-heading">Feature views</h2>
      <ErrorNotice error={polled.error} what="the feature views" />
      {loaded === undefined && polled.error === undefined && <p class="muted">Loading…</p>}
      {loaded !== undefined && 'none' in loaded && (
        <p class="notice notice-warn" data-testid="features-none">
          {loaded.none}
        </p>
      )}
      {loaded !== undefined &&
        'data' in loaded &&
        (loaded.data.views.length === 0 ? (
          <p class="muted">The applied definitions have no feature view.</p>
        ) : (
          <div class="table-wrap">
            <table class="wide" data-testid="feature-views">
              <thead>
                <tr>
                  <th scope="col">View</th>
                  <th scope="col">Entity</th>
                  <th scope="col">Source</th>
                  <th scope="col">Freshness</th>
                  <th scope="col">Newest event</th>
                  <th scope="col" class="num">
                    TTL
                  </th>
                  <th scope="col">Last materialization</th>
                </tr>
              </thead>
              <tbody>
                {loaded.data.views.map((v) => (
                  <tr key={v.name} data-testid={`view-${v.name}`}>
                    <th scope="row">
                      {v.name}
                      <div class="muted">
                        {v.transform}, {v.features} feature{v.features === 1 ? '' : 's'}
                        {v.online ? '' : ', offline only'}
                      </div>
                    </th>
                    <td>{v.entities.join(', ')}</td>
                    <td>
                      {v.source.name} <span class="muted">({v.source.kind})</span>
                    </td>
                    <td data-testid="freshness">
                      <Freshness view={v} />
                    </td>
                    <td>{fmtTime(v.last_event_time)}</td>
                    <td class="num nowrap">{fmtAge(v.ttl_seconds)}</td>
                    <td>
                      <LastRun view={v} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
      <UpdatedAt at={polled.updatedAt} />
    </section>
  );
}
