/** The sections of one kind of experiment: the canary's timeline, the shadow's report, the bandit's weights. */
import { TimeChart } from '../../components/time-chart.js';
import { fmtNum, fmtPct, fmtTime } from '../../format.js';
import type { Analysis, CanaryView, LatencySummary, RequestStats, ShadowView } from './types.js';

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '—' : `${fmtNum(v, 3)} ms`);

const ACTION_WORDS: Record<string, string> = {
  start: 'started',
  step: 'stepped up',
  promote: 'promoted',
  rollback: 'rolled back',
  pause: 'paused',
  resume: 'resumed',
  abort: 'aborted',
};

const ASSESSMENT_WORDS: Record<string, string> = {
  wait: 'wait',
  step: 'step up',
  promote: 'promote',
  rollback: 'roll back',
};

export function CanarySection({ c }: { c: CanaryView }) {
  return (
    <section aria-labelledby="canary-title">
      <h2 id="canary-title">Canary release</h2>
      <dl class="facts">
        <dt>Controller</dt>
        <dd data-testid="canary-status">{c.status.replace('_', ' ')}</dd>
        <dt>Step</dt>
        <dd>
          {c.stepIndex + 1} of {c.steps.length} (steps: {c.steps.map((s) => fmtPct(s, 0)).join(' → ')}), since{' '}
          {fmtTime(c.stepStartedAt)}
        </dd>
        <dt>Canary's share now</dt>
        <dd>{fmtPct(c.weight, 0)}</dd>
        <dt>What the figures say now</dt>
        <dd data-testid="canary-assessment">
          {ASSESSMENT_WORDS[c.assessment.action] ?? c.assessment.action}: {c.assessment.reason}
        </dd>
      </dl>
      <h3>This step's window</h3>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Arm</th>
              <th scope="col" class="num">
                Requests
              </th>
              <th scope="col" class="num">
                Errors
              </th>
              <th scope="col" class="num">
                Error rate
              </th>
              <th scope="col" class="num">
                p50
              </th>
              <th scope="col" class="num">
                p99
              </th>
              <th scope="col" class="num">
                Outcome rate
              </th>
            </tr>
          </thead>
          <tbody>
            <WindowRow name="production" s={c.window.production} />
            <WindowRow name="canary" s={c.window.canary} />
          </tbody>
        </table>
      </div>
      <h3 id="canary-timeline-title">Timeline</h3>
      <ol class="exp-timeline" aria-labelledby="canary-timeline-title" data-testid="canary-timeline">
        {c.history.map((h, i) => (
          <li key={i}>
            <time dateTime={h.at}>{fmtTime(h.at)}</time> <strong>{ACTION_WORDS[h.action] ?? h.action}</strong>
            , canary at {fmtPct(h.weight, 0)}: <span class="exp-reason">{h.reason}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}

function WindowRow({ name, s }: { name: string; s: RequestStats }) {
  return (
    <tr>
      <th scope="row">{name}</th>
      <td class="num">{fmtNum(s.requests)}</td>
      <td class="num">{fmtNum(s.errors)}</td>
      <td class="num">{fmtPct(s.errorRate, 2)}</td>
      <td class="num">{ms(s.latency.p50)}</td>
      <td class="num">{ms(s.latency.p99)}</td>
      <td class="num">{fmtPct(s.outcomes?.rate)}</td>
    </tr>
  );
}

export function ShadowSection({ s }: { s: ShadowView }) {
  const r = s.report;
  const prodLabels = Object.keys(r.confusion).sort();
  const shadowLabels = [...new Set(Object.values(r.confusion).flatMap((row) => Object.keys(row)))].sort();
  return (
    <section aria-labelledby="shadow-title">
      <h2 id="shadow-title">Shadow report</h2>
      <div class="cards">
        <div class="card">
          <div class="muted">Agreement</div>
          <div class="value" data-testid="shadow-agreement">
            {fmtPct(r.agreement)}
          </div>
          <div class="muted">
            {fmtNum(r.agreed)} of {fmtNum(r.compared)} items
          </div>
        </div>
        <div class="card">
          <div class="muted">Mirrored</div>
          <div class="value">{fmtNum(r.mirrored)}</div>
          <div class="muted">
            of {fmtNum(r.offered)} offered; {fmtNum(r.dropped)} dropped
          </div>
        </div>
        <div class="card">
          <div class="muted">Errors</div>
          <div class="value">
            {fmtNum(r.errors.production)} / {fmtNum(r.errors.shadow)}
          </div>
          <div class="muted">production / shadow</div>
        </div>
      </div>
      <p class="muted">
        Sample rate {fmtPct(s.settings.sampleRate, 0)}; merged over {s.replicas} replica
        {s.replicas === 1 ? '' : 's'}; last written {fmtTime(s.updatedAt)}.
      </p>
      <h3 id="shadow-confusion-title">Confusion matrix (items)</h3>
      {prodLabels.length === 0 ? (
        <p class="muted">Nothing compared yet.</p>
      ) : (
        <div class="table-wrap">
          <table aria-labelledby="shadow-confusion-title" data-testid="shadow-confusion">
            <thead>
              <tr>
                <th scope="col">Production said ↓ / shadow said →</th>
                {shadowLabels.map((l) => (
                  <th scope="col" class="num" key={l}>
                    {l}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {prodLabels.map((p) => (
                <tr key={p}>
                  <th scope="row">{p}</th>
                  {shadowLabels.map((l) => (
                    <td class={p === l ? 'num exp-diag' : 'num'} key={l}>
                      {fmtNum(r.confusion[p]?.[l] ?? 0)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>Latency (successful requests)</h3>
      <div class="table-wrap">
        <table data-testid="shadow-latency">
          <thead>
            <tr>
              <th scope="col">Side</th>
              <th scope="col" class="num">
                Requests
              </th>
              <th scope="col" class="num">
                p50
              </th>
              <th scope="col" class="num">
                p99
              </th>
              <th scope="col" class="num">
                max
              </th>
            </tr>
          </thead>
          <tbody>
            <LatencyRow name="production" l={r.latency.production} />
            <LatencyRow name="shadow" l={r.latency.shadow} />
          </tbody>
        </table>
      </div>
    </section>
  );
}

function LatencyRow({ name, l }: { name: string; l: LatencySummary }) {
  return (
    <tr>
      <th scope="row">{name}</th>
      <td class="num">{fmtNum(l.count)}</td>
      <td class="num">{ms(l.p50)}</td>
      <td class="num">{ms(l.p99)}</td>
      <td class="num">{ms(l.max)}</td>
    </tr>
  );
}

/** The bandit's weights now and over time (the experiment's weights history). */
export function BanditSection({ a }: { a: Analysis }) {
  const b = a.bandit;
  if (!b) return null;
  const arms = a.arms.map((x) => x.name);
  const history = b.history;
  const xs = history.map((h) => Date.parse(h.at) / 1000);
  const data: (number | null)[][] = [xs, ...arms.map((_, i) => history.map((h) => h.weights[i] ?? null))];
  return (
    <section aria-labelledby="bandit-title">
      <h2 id="bandit-title">Bandit ({b.policy})</h2>
      <p>
        Reward metric: {b.metric ?? '—'}. Weights are recomputed once per period from the outcomes so far;
        every change is below.
      </p>
      <div class="table-wrap">
        <table data-testid="bandit-weights">
          <thead>
            <tr>
              <th scope="col">Arm</th>
              <th scope="col" class="num">
                Weight now
              </th>
              <th scope="col" class="num">
                Chance of being best
              </th>
            </tr>
          </thead>
          <tbody>
            {arms.map((name, i) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td class="num">{fmtPct(b.weights[i])}</td>
                <td class="num">{fmtPct(b.probabilityBest[name])}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {history.length > 1 && (
        <TimeChart
          title="Weights over time"
          series={arms.map((label) => ({ label, format: (v: number) => fmtPct(v) }))}
          data={data}
          yLabel="weight"
        />
      )}
      <details>
        <summary>Weight changes ({history.length})</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                {arms.map((n) => (
                  <th scope="col" class="num" key={n}>
                    {n}
                  </th>
                ))}
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {history.map((h, i) => (
                <tr key={i}>
                  <td>{fmtTime(h.at)}</td>
                  {arms.map((n, j) => (
                    <td class="num" key={n}>
                      {fmtPct(h.weights[j])}
                    </td>
                  ))}
                  <td>{h.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </section>
  );
}
