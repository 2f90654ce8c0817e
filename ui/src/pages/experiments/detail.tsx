import { api, seg } from '../../api.js';
import { AccessNote, ErrorNotice, UpdatedAt } from '../../components/notices.js';
import { fmtNum, fmtPct, fmtTime } from '../../format.js';
import { usePoll } from '../../poll.js';
import { href } from '../../route.js';
import { ExperimentActions } from './actions.js';
import { ArmsTable, MetricSection, PowerProgress, SrmNotice } from './arms.js';
import { BanditSection, CanarySection, ShadowSection } from './kinds.js';
import { finalVerdict, isActive, kindLabel, liveVerdict, progressText, statusClass } from './summary.js';
import type { Analysis } from './types.js';

/** #/experiments/<name>: the definition, the analysis for its kind, and the actions valid now. */
export function ExperimentDetail({ name }: { name: string }) {
  const detail = usePoll((signal) => api<Analysis>(`/v1/experiments/${seg(name)}`, { signal }), 5_000, [
    name,
  ]);
  const a = detail.data;
  const e = a?.experiment;
  return (
    <section class="exp-page">
      <p>
        <a href={href('experiments')}>← All experiments</a>
      </p>
      <h1>
        Experiment <span data-testid="experiment-name">{name}</span>
      </h1>
      <AccessNote needsToken={true} />
      <ErrorNotice error={detail.error} what={`experiment “${name}”`} />
      {detail.loading && <p aria-live="polite">Loading…</p>}
      {a && e && (
        <>
          <dl class="facts">
            <dt>Kind</dt>
            <dd>{kindLabel(e.type)}</dd>
            <dt>Model</dt>
            <dd>
              <a href={href('models', e.model)}>{e.model}</a>
            </dd>
            <dt>Status</dt>
            <dd>
              <span class={statusClass(e.status)} data-testid="experiment-status">
                {e.status}
              </span>
            </dd>
            <dt>Verdict</dt>
            <dd data-testid="experiment-verdict">
              {isActive(e) ? liveVerdict(a) : (finalVerdict(e) ?? '—')}
            </dd>
            <dt>Progress</dt>
            <dd>{progressText(a)}</dd>
            {e.description ? (
              <>
                <dt>Description</dt>
                <dd data-testid="experiment-description" class="exp-reason">
                  {e.description}
                </dd>
              </>
            ) : null}
            <dt>Coverage</dt>
            <dd>{fmtPct(e.coverage, 0)} of units</dd>
            <dt>Created</dt>
            <dd>{fmtTime(e.createdAt)}</dd>
            <dt>Last changed</dt>
            <dd>{fmtTime(e.updatedAt)}</dd>
            {e.conclusion && (
              <>
                <dt>Concluded</dt>
                <dd data-testid="experiment-conclusion">
                  {fmtTime(e.conclusion.at)}:{' '}
                  {e.conclusion.winner === null ? 'no winner' : `winner ${e.conclusion.winner}`}
                  {e.conclusion.reason ? <span class="exp-reason"> ({e.conclusion.reason})</span> : null}
                </dd>
              </>
            )}
            <dt>Events</dt>
            <dd>
              {fmtNum(a.totalEvents)} counted
              {a.excludedEvents > 0 ? `, ${fmtNum(a.excludedEvents)} excluded` : ''}
              {a.unexposed.events > 0
                ? `, ${fmtNum(a.unexposed.events)} from ${fmtNum(a.unexposed.units)} units never exposed (not analysed)`
                : ''}
            </dd>
          </dl>
          <UpdatedAt at={detail.updatedAt} />
          <h2>Actions</h2>
          <ExperimentActions experiment={e} onDone={detail.reload} />

          {e.type !== 'shadow' && (
            <>
              <h2>Arms</h2>
              <ArmsTable a={a} />
              {e.type !== 'canary' && <SrmNotice a={a} />}
              {e.type === 'ab' && <PowerProgress a={a} />}
              {e.metrics.map((m) => (
                <MetricSection key={m.name} a={a} metric={m} />
              ))}
            </>
          )}
          {a.canary && <CanarySection c={a.canary} />}
          {a.shadow && <ShadowSection s={a.shadow} />}
          {a.bandit && <BanditSection a={a} />}
        </>
      )}
    </section>
  );
}
