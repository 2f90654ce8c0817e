import { ApiError, api, apiText, seg } from '../api.js';
import { ErrorNotice, UpdatedAt } from '../components/notices.js';
import { fmtNum, fmtPct, fmtTime } from '../format.js';
import { monitorGauges, servedVersions } from '../metrics/monitor.js';
import { parseExposition } from '../metrics/parse.js';
import { usePoll } from '../poll.js';
import { href, navigate, type Route } from '../route.js';
import { HistogramChart } from './monitoring/histogram-chart.js';
import { type DriftReport, type FeatureDrift, P_VALUE_METHODS } from './monitoring/report-types.js';

const WINDOWS = ['15m', '1h', '6h', '1d', '7d'] as const;
const DEFAULT_WINDOW = '1h';
/** A report reads a whole window of the prediction log: not more often than this. */
const REPORT_POLL_MS = 30_000;
const METRICS_POLL_MS = 10_000;
const ALERTS_SHOWN = 20;

interface Choice {
  model: string | undefined;
  /** `alias:production` or `version:3`. */
  ref: string;
  window: string;
}

function choiceOf(route: Route): Choice {
  const ref = route.query.get('ref') ?? 'alias:production';
  const window = route.query.get('window') ?? DEFAULT_WINDOW;
  return {
    model: route.query.get('model') ?? undefined,
    ref: /^(alias:[\w.-]{1,64}|version:[1-9]\d{0,9})$/.test(ref) ? ref : 'alias:production',
    window: (WINDOWS as readonly string[]).includes(window) ? window : DEFAULT_WINDOW,
  };
}

function go(c: Choice): void {
  const q = new URLSearchParams();
  if (c.model !== undefined) q.set('model', c.model);
  q.set('ref', c.ref);
  q.set('window', c.window);
  navigate(`${href('monitoring')}?${q}`);
}

function reportPath(model: string, c: Choice): string {
  const q = new URLSearchParams({ window: c.window });
  const [kind, value] = c.ref.split(':') as [string, string];
  q.set(kind === 'version' ? 'version' : 'alias', value);
  return `/v1/monitoring/${seg(model)}?${q}`;
}

function DriftBadge({ drifted, noData }: { drifted: boolean | null; noData?: boolean }) {
  if (noData || drifted === null) return <span class="badge">no data</span>;
  return drifted ? (
    <span class="badge badge-bad">drifted</span>
  ) : (
    <span class="badge badge-ok">no drift</span>
  );
}

/** "p = 0.012 < 0.05" for tests, "0.14 ≥ 0.1" for distances: how the verdict was reached. */
function scoreText(method: string, score: number, threshold: number): string {
  return P_VALUE_METHODS.has(method)
    ? `p = ${fmtNum(score)} (drift below ${fmtNum(threshold)})`
    : `${fmtNum(score)} (drift from ${fmtNum(threshold)})`;
}

function FeatureTable({ title, rows, testId }: { title: string; rows: FeatureDrift[]; testId: string }) {
  if (rows.length === 0) return null;
  return (
    <>
      <h3>{title}</h3>
      <div class="table-wrap">
        <table data-testid={testId}>
          <thead>
            <tr>
              <th scope="col">Feature</th>
              <th scope="col">Verdict</th>
              <th scope="col">Test</th>
              <th scope="col">Score</th>
              <th scope="col" class="num">
                PSI
              </th>
              <th scope="col" class="num">
                Reference mean
              </th>
              <th scope="col" class="num">
                Current mean
              </th>
              <th scope="col" class="num">
                Current count
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((f) => (
              <tr key={f.name} data-feature={f.name}>
                <th scope="row">
                  {f.name} <span class="muted">({f.type})</span>
                </th>
                <td>
                  <DriftBadge drifted={f.drift?.drifted ?? null} noData={f.drift?.noData === true} />
                  {f.note !== undefined && <div class="muted">{f.note}</div>}
                </td>
                <td>{f.drift?.method ?? '—'}</td>
                <td>
                  {f.drift && !f.drift.noData
                    ? scoreText(f.drift.method, f.drift.score, f.drift.threshold)
                    : '—'}
                </td>
                <td class="num">{f.drift && !f.drift.noData ? fmtNum(f.drift.psi) : '—'}</td>
                <td class="num">{fmtNum(f.reference.mean)}</td>
                <td class="num">{fmtNum(f.current.mean)}</td>
                <td class="num">{fmtNum(f.current.count)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="grid">
        {rows
          .filter((f) => f.histogram !== null)
          .map((f) => (
            <HistogramChart key={f.name} title={`${f.name}: reference vs current`} histogram={f.histogram!} />
          ))}
      </div>
    </>
  );
}

function Report({ r }: { r: DriftReport }) {
  const t = r.text;
  return (
    <div data-testid="drift-report">
      <dl class="facts">
        <dt>Model version</dt>
        <dd data-testid="report-version">
          {r.model} v{r.version}
        </dd>
        <dt>Window</dt>
        <dd>
          {fmtTime(r.window.since)} to {fmtTime(r.window.until)}
        </dd>
        <dt>Logged</dt>
        <dd data-testid="report-counts">
          {fmtNum(r.counts.requests)} requests, {fmtNum(r.counts.items)} items ({fmtNum(r.counts.analysed)}{' '}
          analysed
          {r.counts.truncatedRequests > 0
            ? `, ${fmtNum(r.counts.truncatedRequests)} requests cut by the log's cap`
            : ''}
          )
        </dd>
        <dt>Reference</dt>
        <dd>
          {r.reference.source}, {fmtNum(r.reference.rows)} rows, made {fmtTime(r.reference.createdAt)}
        </dd>
        <dt>Dataset drift</dt>
        <dd data-testid="report-dataset">
          {r.status === 'no-data' ? (
            <span class="badge">no data</span>
          ) : (
            <>
              <DriftBadge drifted={r.dataset.drifted} /> {r.dataset.driftedColumns} of {r.dataset.columns}{' '}
              input columns drifted ({fmtPct(r.dataset.share)}; the dataset drifts from{' '}
              {fmtPct(r.dataset.threshold, 0)})
            </>
          )}
        </dd>
        {t !== null && (
          <>
            <dt>Texts</dt>
            <dd>
              {t.drift === null || t.drift.noData ? (
                'not compared (no texts in the window)'
              ) : (
                <>
                  <DriftBadge drifted={t.drift.drifted} /> a classifier tells current from reference texts
                  with ROC AUC {fmtNum(t.drift.rocAuc)} (drift above {fmtNum(t.drift.threshold)})
                  {t.drift.topTerms.length > 0
                    ? `; words marking current texts: ${t.drift.topTerms.join(', ')}`
                    : ''}
                </>
              )}
            </dd>
            <dt>Out of vocabulary</dt>
            <dd>
              reference {fmtPct(t.oovRate.reference)}, current {fmtPct(t.oovRate.current)} (vocabulary of{' '}
              {fmtNum(t.vocabularySize)} words)
            </dd>
          </>
        )}
        <dt>Report made</dt>
        <dd>{fmtTime(r.generatedAt)}</dd>
      </dl>
      {r.status === 'no-data' ? (
        <p class="notice notice-warn" data-testid="report-no-data">
          No prediction of this version was logged in the window: nothing to compare yet.
        </p>
      ) : (
        <>
          <FeatureTable title="Inputs" rows={r.features} testId="report-features" />
          <FeatureTable title="Outputs" rows={r.outputs} testId="report-outputs" />
        </>
      )}
      {r.quality !== null && (
        <>
          <h3>Quality from delayed labels</h3>
          <p>
            {fmtNum(r.quality.labeled)} labeled predictions in the window ({fmtNum(r.quality.unmatched)}{' '}
            labels not matched yet).
          </p>
          {r.quality.versions.length > 0 && (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Version</th>
                    <th scope="col" class="num">
                      Labeled
                    </th>
                    <th scope="col" class="num">
                      Accuracy
                    </th>
                    <th scope="col" class="num">
                      Weighted F1
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {r.quality.versions.map((v) => (
                    <tr key={v.version}>
                      <th scope="row">v{v.version}</th>
                      <td class="num">{fmtNum(v.labeled)}</td>
                      <td class="num">{fmtPct(v.accuracy)}</td>
                      <td class="num">{fmtNum(v.f1)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </div>
  );
}

interface StoredAlert {
  rule: string;
  model: string;
  version: number;
  severity: string;
  metric: string;
  op: string;
  threshold: number;
  value: number;
  forMs: number;
  firedAt: string;
  resolvedAt: string | null;
  message: string;
  delivery: string;
}

/** The alerts monitors stored for the model (GET /v1/monitoring/{model}/alerts), newest first. */
function Alerts({ model }: { model: string }) {
  const alerts = usePoll(
    (signal) =>
      api<{ alerts: StoredAlert[] }>(`/v1/monitoring/${seg(model)}/alerts?limit=${ALERTS_SHOWN}`, { signal }),
    REPORT_POLL_MS,
    [model],
  );
  return (
    <>
      <h2>Alerts</h2>
      <p class="muted">
        Fired by the monitor loop of any process on this database (<code>ferry serve --monitor</code>,{' '}
        <code>ferry monitor run</code>), newest first; the last {ALERTS_SHOWN}. Evidence:{' '}
        <code>ferry monitor alerts --model {model} --json</code>.
      </p>
      <ErrorNotice error={alerts.error} what="the alerts" />
      {alerts.data !== undefined &&
        (alerts.data.alerts.length === 0 ? (
          <p data-testid="alerts-none">No alert has fired for {model}.</p>
        ) : (
          <div class="table-wrap">
            <table data-testid="alerts">
              <thead>
                <tr>
                  <th scope="col">Fired</th>
                  <th scope="col">Rule</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Condition</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {alerts.data.alerts.map((a) => (
                  <tr key={`${a.rule} ${a.firedAt}`}>
                    <th scope="row">{fmtTime(a.firedAt)}</th>
                    <td>
                      <strong>{a.rule}</strong>
                      <div class="muted">{a.message}</div>
                    </td>
                    <td>
                      <span class={a.severity === 'critical' ? 'badge badge-bad' : 'badge badge-warn'}>
                        {a.severity}
                      </span>
                    </td>
                    <td>
                      v{a.version}: {a.metric} = {fmtNum(a.value)} {a.op} {fmtNum(a.threshold)}
                    </td>
                    <td>
                      {a.resolvedAt === null ? <strong>firing</strong> : `resolved ${fmtTime(a.resolvedAt)}`}
                    </td>
                    <td>{a.delivery}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </>
  );
}

function MonitorLoop({ metrics, model }: { metrics: string | undefined; model: string }) {
  if (metrics === undefined) return null;
  const g = monitorGauges(parseExposition(metrics).samples, model);
  if (!g.running) {
    return (
      <p data-testid="monitor-off">
        The monitor loop does not run in this server: start it with <code>ferry serve --monitor</code> (or run{' '}
        <code>ferry monitor run</code> beside it, whose gauges are on its own metrics port) for detectors,
        scheduled drift checks and alerts.
      </p>
    );
  }
  return (
    <div data-testid="monitor-loop">
      <dl class="facts">
        <dt>Last tick</dt>
        <dd data-testid="monitor-last-run">{g.lastRunMs === null ? 'not yet' : fmtTime(g.lastRunMs)}</dd>
        <dt>Dataset drift share</dt>
        <dd>{g.datasetDriftShare === null ? 'no data in the window' : fmtPct(g.datasetDriftShare)}</dd>
        <dt>Failed ticks</dt>
        <dd>{fmtNum(g.tickFailures)}</dd>
        <dt>Alerts fired</dt>
        <dd>
          {fmtNum(g.alerts.reduce((a, x) => a + x.fired, 0))} by this server's loop since it started (every
          model)
        </dd>
      </dl>
      <h3>Detectors</h3>
      <p class="muted">
        ADWIN, Page-Hinkley and KSWIN over the confidences and (with labels) the errors; signals counted since
        the server started.
      </p>
      {g.detectors.length === 0 ? (
        <p data-testid="monitor-detectors-quiet">No detector has signalled a change.</p>
      ) : (
        <div class="table-wrap">
          <table data-testid="monitor-detectors">
            <thead>
              <tr>
                <th scope="col">Detector</th>
                <th scope="col">Stream</th>
                <th scope="col" class="num">
                  Signals
                </th>
              </tr>
            </thead>
            <tbody>
              {g.detectors.map((d) => (
                <tr key={`${d.detector} ${d.stream}`}>
                  <th scope="row">{d.detector}</th>
                  <td>{d.stream}</td>
                  <td class="num">{fmtNum(d.signals)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/**
 * Monitoring (issue 15): the drift report of a model version over a window of the prediction log
 * (GET /v1/monitoring/{model}: FERRY_MONITOR_TOKEN or the admin token), with reference vs current
 * histograms, and the monitor loop's detectors and alerts from /metrics when `serve --monitor` runs.
 */
export function MonitoringPage({ route }: { route: Route }) {
  const c = choiceOf(route);
  const metrics = usePoll((signal) => apiText('/metrics', { signal, auth: false }), METRICS_POLL_MS, []);
  const served = metrics.data === undefined ? [] : servedVersions(parseExposition(metrics.data).samples);
  const models = [...new Set(served.map((v) => v.model))];
  const model = c.model ?? models[0];
  const report = usePoll(
    (signal) =>
      model === undefined ? Promise.resolve(undefined) : api<DriftReport>(reportPath(model, c), { signal }),
    REPORT_POLL_MS,
    [model, c.ref, c.window],
  );
  const mine = served.filter((v) => v.model === model);
  const refs = [
    ...new Set([
      'alias:production',
      ...mine.filter((v) => v.alias !== 'on-demand').map((v) => `alias:${v.alias}`),
    ]),
    ...new Set(mine.map((v) => `version:${v.version}`)),
  ];
  if (!refs.includes(c.ref)) refs.push(c.ref);
  const refLabel = (ref: string) => {
    const [kind, value] = ref.split(':');
    return kind === 'alias' ? `alias ${value}` : `version ${value}`;
  };

  return (
    <section>
      <h1>Monitoring</h1>
      <p class="access access-token">
        The drift report needs a token: FERRY_MONITOR_TOKEN or the admin token, entered in the token box. The
        monitor loop's figures come from /metrics (public).
      </p>
      <form class="cards" onSubmit={(e) => e.preventDefault()}>
        <label>
          Model{' '}
          <select
            data-testid="monitoring-model"
            value={model ?? ''}
            onChange={(e) => go({ ...c, model: e.currentTarget.value, ref: 'alias:production' })}
          >
            {model !== undefined && !models.includes(model) && <option value={model}>{model}</option>}
            {models.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label>
          Version{' '}
          <select
            data-testid="monitoring-ref"
            value={c.ref}
            onChange={(e) => go({ ...c, model, ref: e.currentTarget.value })}
          >
            {refs.map((r) => (
              <option key={r} value={r}>
                {refLabel(r)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Window{' '}
          <select
            data-testid="monitoring-window"
            value={c.window}
            onChange={(e) => go({ ...c, model, window: e.currentTarget.value })}
          >
            {WINDOWS.map((w) => (
              <option key={w} value={w}>
                last {w}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={report.reload}>
          Refresh
        </button>
        <span aria-live="polite">
          <UpdatedAt at={report.updatedAt} />
        </span>
      </form>
      <ErrorNotice error={metrics.error} what="/metrics" />
      {model === undefined && metrics.data !== undefined && <p>This server serves no model.</p>}
      <h2>Drift report</h2>
      <ErrorNotice error={report.error} what="the drift report" />
      {report.loading && model !== undefined && <p>Making the report…</p>}
      {report.data !== undefined && <Report r={report.data} />}
      {model !== undefined && (
        <>
          {/* The same token guards the alerts: one notice about it is enough. */}
          {!(report.error instanceof ApiError && report.error.status === 401) && <Alerts model={model} />}
          <h2>Monitor loop</h2>
          <MonitorLoop metrics={metrics.data} model={model} />
        </>
      )}
    </section>
  );
}
