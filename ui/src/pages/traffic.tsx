import { useMemo, useRef } from 'preact/hooks';
import { apiText } from '../api.js';
import { AccessNote, ErrorNotice, UpdatedAt } from '../components/notices.js';
import { type ChartSeries, TimeChart } from '../components/time-chart.js';
import { fmtNum, fmtPct, fmtSeconds } from '../format.js';
import { parseExposition } from '../metrics/parse.js';
import {
  modelVersions,
  type Quantiles,
  type Selection,
  type Snapshot,
  SnapshotRing,
  snapshotOf,
  type TrafficPoint,
  trafficPoint,
  trafficSeries,
} from '../metrics/traffic.js';
import { usePoll } from '../poll.js';
import { href, navigate, type Route } from '../route.js';

/** How often /metrics is read. */
const POLL_MS = 2000;
/** What the page keeps in memory: the longest window it offers, and a scrape before it. */
const KEEP_MS = 10 * 60_000 + 5000;
const WINDOWS_MIN = [2, 5, 10] as const;
/** The cards average over this long (a 2 s interval alone is noisy). */
const CARD_SPAN_MS = 10_000;

const perSec = (v: number) => `${fmtNum(v)}/s`;
const QUANTILE_SERIES = (what: string, format: (v: number) => string): ChartSeries[] => [
  { label: `${what} p50`, format },
  { label: `${what} p95`, format },
  { label: `${what} p99`, format },
];

function selectionOf(route: Route): Selection {
  const model = route.query.get('model') ?? undefined;
  const version = model === undefined ? undefined : (route.query.get('version') ?? undefined);
  return { model, version };
}

function windowOf(route: Route): number {
  const w = Number(route.query.get('window'));
  return (WINDOWS_MIN as readonly number[]).includes(w) ? w : 5;
}

function go(sel: Selection, windowMin: number): void {
  const q = new URLSearchParams();
  if (sel.model !== undefined) q.set('model', sel.model);
  if (sel.model !== undefined && sel.version !== undefined) q.set('version', sel.version);
  q.set('window', String(windowMin));
  navigate(`${href('traffic')}?${q}`);
}

/** The scrape at least `spanMs` before the newest (or the oldest kept), for the cards' interval. */
function cardPoint(snaps: readonly Snapshot[], sel: Selection): TrafficPoint | undefined {
  const last = snaps.at(-1);
  if (last === undefined || snaps.length < 2) return undefined;
  let from = snaps.length - 2;
  while (from > 0 && last.t - snaps[from]!.t < CARD_SPAN_MS) from--;
  return trafficPoint(snaps[from]!, last, sel);
}

function Card({ id, label, value, note }: { id: string; label: string; value: string; note?: string }) {
  return (
    <div class="card">
      <div class="muted">{label}</div>
      <div class="value" data-testid={`card-${id}`}>
        {value}
      </div>
      {note !== undefined && <div class="muted">{note}</div>}
    </div>
  );
}

const q3 = (q: Quantiles | undefined) =>
  q === undefined || q.count === 0
    ? '—'
    : `${fmtSeconds(q.p50)} / ${fmtSeconds(q.p95)} / ${fmtSeconds(q.p99)}`;

/**
 * Live traffic (issue 15): `GET /metrics` (public) every 2 s, the scrapes of the last 10 minutes
 * kept in memory, rates and quantiles computed between successive scrapes (ui/src/metrics).
 */
export function TrafficPage({ route }: { route: Route }) {
  const ring = useRef(new SnapshotRing(KEEP_MS));
  const pointCache = useRef(new Map<string, TrafficPoint | undefined>());
  const polled = usePoll(
    async (signal) => {
      const text = await apiText('/metrics', { signal, auth: false });
      const snap = snapshotOf(parseExposition(text).samples, Date.now());
      ring.current.push(snap);
      return snap;
    },
    POLL_MS,
    [],
  );
  const latest = polled.data;
  const sel = selectionOf(route);
  const windowMin = windowOf(route);
  const snaps = ring.current.snapshots;

  const versions = useMemo(() => (latest ? modelVersions(latest) : []), [latest]);
  const models = [...new Set(versions.map((v) => v.model))];
  const { points, card } = useMemo(() => {
    const since = (latest?.t ?? 0) - windowMin * 60_000;
    const from = Math.max(0, snaps.findIndex((s) => s.t >= since) - 1);
    return { points: trafficSeries(snaps.slice(from), sel, pointCache.current), card: cardPoint(snaps, sel) };
  }, [latest, sel.model, sel.version, windowMin]);

  const charts = useMemo(() => {
    const xs = points.map((p) => p.t / 1000);
    const col = (f: (p: TrafficPoint) => number | null) => [xs, points.map(f)];
    return {
      requests: [
        xs,
        points.map((p) => p.requestsPerSec),
        points.map((p) => p.errorsPerSec),
        points.map((p) => p.shedPerSec),
      ],
      predictions: [xs, points.map((p) => p.predictionsPerSec), points.map((p) => p.cachedPerSec)],
      latency: [
        xs,
        points.map((p) => p.latency.p50),
        points.map((p) => p.latency.p95),
        points.map((p) => p.latency.p99),
      ],
      batch: [
        xs,
        points.map((p) => p.batchSize.mean),
        points.map((p) => p.batchSize.p50),
        points.map((p) => p.batchSize.p95),
      ],
      queue: [
        xs,
        points.map((p) => p.queue.p50),
        points.map((p) => p.queue.p95),
        points.map((p) => p.queue.p99),
      ],
      cache: col((p) => p.cacheHitRate),
    };
  }, [points]);

  const xRange = useMemo((): [number, number] | undefined => {
    if (latest === undefined) return undefined;
    const end = latest.t / 1000;
    return [end - windowMin * 60, end];
  }, [latest, windowMin]);

  const what =
    sel.model === undefined
      ? 'all models'
      : `${sel.model}${sel.version !== undefined ? ` v${sel.version}` : ''}`;
  const selValue = sel.model === undefined ? '' : `${sel.model}\u0000${sel.version ?? ''}`;

  return (
    <section>
      <h1>Live traffic</h1>
      <AccessNote needsToken={false} />
      <p class="muted">
        Read from <a href="/metrics">/metrics</a> every {POLL_MS / 1000} s (with several workers: their sum)
        and kept in this tab for 10 minutes; rates and percentiles are per interval between two reads. The
        dashboard's own reads of /metrics count as requests too.
      </p>
      <form class="cards" onSubmit={(e) => e.preventDefault()}>
        <label>
          Model and version{' '}
          <select
            data-testid="traffic-model"
            value={selValue}
            onChange={(e) => {
              const [model, version] = e.currentTarget.value.split('\u0000');
              go(model ? { model, version: version || undefined } : {}, windowMin);
            }}
          >
            <option value="">All models</option>
            {models.map((m) => (
              <optgroup key={m} label={m}>
                <option value={`${m}\u0000`}>{m}: every version</option>
                {versions
                  .filter((v) => v.model === m)
                  .map((v) => (
                    <option key={v.version} value={`${m}\u0000${v.version}`}>
                      {m} v{v.version}
                    </option>
                  ))}
              </optgroup>
            ))}
            {sel.model !== undefined && !models.includes(sel.model) && (
              <option value={selValue}>{what} (no traffic seen)</option>
            )}
          </select>
        </label>
        <label>
          Window{' '}
          <select
            data-testid="traffic-window"
            value={String(windowMin)}
            onChange={(e) => go(sel, Number(e.currentTarget.value))}
          >
            {WINDOWS_MIN.map((w) => (
              <option key={w} value={String(w)}>
                last {w} minutes
              </option>
            ))}
          </select>
        </label>
        <span aria-live="polite">
          <UpdatedAt at={polled.updatedAt} />
        </span>
      </form>
      <ErrorNotice error={polled.error} what="/metrics" />
      {snaps.length < 2 ? (
        <p data-testid="traffic-collecting">
          Collecting: the first rates appear after two reads of /metrics…
        </p>
      ) : (
        <>
          <h2>Last {CARD_SPAN_MS / 1000} seconds</h2>
          <div class="cards" data-testid="traffic-cards">
            <Card
              id="requests"
              label="HTTP requests (all routes)"
              value={perSec(card?.requestsPerSec ?? 0)}
            />
            <Card id="errors" label="Answered 5xx" value={perSec(card?.errorsPerSec ?? 0)} />
            <Card
              id="predictions"
              label={`Predictions, ${what}`}
              value={perSec(card?.predictionsPerSec ?? 0)}
              note={`from the cache: ${perSec(card?.cachedPerSec ?? 0)}`}
            />
            <Card id="latency" label="Latency p50 / p95 / p99" value={q3(card?.latency)} />
            <Card
              id="batch"
              label="Batch size mean / p95"
              value={
                card?.batchSize.count ? `${fmtNum(card.batchSize.mean)} / ${fmtNum(card.batchSize.p95)}` : '—'
              }
            />
            <Card id="queue" label="Queue time p50 / p95 / p99" value={q3(card?.queue)} />
            <Card
              id="cache"
              label="Cache hit rate (all models)"
              value={fmtPct(card?.cacheHitRate)}
              note={`${perSec(card?.cacheLookupsPerSec ?? 0)} lookups`}
            />
            <Card
              id="shed"
              label={`Shed (503), ${sel.model ?? 'all models'}`}
              value={perSec(card?.shedPerSec ?? 0)}
              note={
                Object.entries(card?.shedByReason ?? {})
                  .filter(([, v]) => v > 0)
                  .map(([r, v]) => `${r}: ${perSec(v)}`)
                  .join(', ') || undefined
              }
            />
          </div>
          <h2>Last {windowMin} minutes</h2>
          <div class="grid">
            <TimeChart
              xRange={xRange}
              title="HTTP requests per second (all routes)"
              series={[
                { label: 'requests/s', format: perSec },
                { label: '5xx/s', format: perSec },
                { label: `shed/s (${sel.model ?? 'all'})`, format: perSec },
              ]}
              data={charts.requests}
              yFormat={(v) => fmtNum(v)}
            />
            <TimeChart
              xRange={xRange}
              title={`Predictions per second, ${what}`}
              series={[
                { label: 'predictions/s', format: perSec },
                { label: 'from the cache/s', format: perSec },
              ]}
              data={charts.predictions}
              yFormat={(v) => fmtNum(v)}
            />
            <TimeChart
              xRange={xRange}
              title={`Prediction latency, ${what}`}
              series={QUANTILE_SERIES('latency', fmtSeconds)}
              data={charts.latency}
              yFormat={fmtSeconds}
            />
            <TimeChart
              xRange={xRange}
              title={`Queue time of a batch's oldest item, ${what}`}
              series={QUANTILE_SERIES('queue', fmtSeconds)}
              data={charts.queue}
              yFormat={fmtSeconds}
            />
            <TimeChart
              xRange={xRange}
              title={`Batch size (items), ${what}`}
              series={[
                { label: 'mean', format: (v) => fmtNum(v) },
                { label: 'p50', format: (v) => fmtNum(v) },
                { label: 'p95', format: (v) => fmtNum(v) },
              ]}
              data={charts.batch}
              yFormat={(v) => fmtNum(v)}
            />
            <TimeChart
              xRange={xRange}
              title="Cache hit rate (all models)"
              series={[{ label: 'hit rate', format: (v) => fmtPct(v) }]}
              data={charts.cache}
              yFormat={(v) => fmtPct(v, 0)}
              yRange={[0, 1]}
            />
          </div>
          <h2>Routes, last {CARD_SPAN_MS / 1000} seconds</h2>
          {card === undefined || card.routes.length === 0 ? (
            <p>No request in the interval.</p>
          ) : (
            <div class="table-wrap">
              <table data-testid="traffic-routes">
                <thead>
                  <tr>
                    <th scope="col">Route</th>
                    <th scope="col" class="num">
                      Requests/s
                    </th>
                    <th scope="col">By status</th>
                    <th scope="col" class="num">
                      p50
                    </th>
                    <th scope="col" class="num">
                      p95
                    </th>
                    <th scope="col" class="num">
                      p99
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {card.routes.map((r) => (
                    <tr key={`${r.method} ${r.route}`}>
                      <th scope="row">
                        {r.method} {r.route}
                      </th>
                      <td class="num">{fmtNum(r.perSec)}</td>
                      <td>
                        {Object.entries(r.byStatus)
                          .filter(([, v]) => v > 0)
                          .sort(([a], [b]) => (a < b ? -1 : 1))
                          .map(([s, v]) => `${s}: ${fmtNum(v)}/s`)
                          .join(', ')}
                      </td>
                      <td class="num">{fmtSeconds(r.latency.p50)}</td>
                      <td class="num">{fmtSeconds(r.latency.p95)}</td>
                      <td class="num">{fmtSeconds(r.latency.p99)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p class="muted">
            Percentiles are estimated from the histogram buckets' increases over each interval, interpolated
            linearly inside a bucket as Prometheus' histogram_quantile does; “—” means nothing was observed.
          </p>
        </>
      )}
    </section>
  );
}
