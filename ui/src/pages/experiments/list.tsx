import { useState } from 'preact/hooks';
import { api, seg } from '../../api.js';
import { AccessNote, ErrorNotice, UpdatedAt } from '../../components/notices.js';
import { Pager } from '../../components/pager.js';
import { fmtTime } from '../../format.js';
import { usePoll } from '../../poll.js';
import { href, navigate, type Route } from '../../route.js';
import { CreateForm } from './create-form.js';
import {
  finalProgress,
  finalVerdict,
  isActive,
  kindLabel,
  liveVerdict,
  progressText,
  statusClass,
} from './summary.js';
import { type Analysis, type Experiment, type ExperimentPage, STATUSES } from './types.js';

export const PAGE_SIZE = 20;

function listHref(status: string, offset: number): string {
  const q = new URLSearchParams();
  if (status !== '') q.set('status', status);
  if (offset > 0) q.set('offset', String(offset));
  const s = q.toString();
  return `${href('experiments')}${s === '' ? '' : `?${s}`}`;
}

/** #/experiments[?status=…&offset=…]: every experiment, newest first, a page at a time. */
export function ExperimentList({ route }: { route: Route }) {
  const rawStatus = route.query.get('status') ?? '';
  const status = (STATUSES as readonly string[]).includes(rawStatus) ? rawStatus : '';
  const rawOffset = Number(route.query.get('offset') ?? '0');
  const offset = Number.isSafeInteger(rawOffset) && rawOffset > 0 ? rawOffset : 0;
  const [creating, setCreating] = useState(false);

  const list = usePoll(
    (signal) => {
      const q = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(offset), order: 'newest' });
      if (status !== '') q.set('status', status);
      return api<ExperimentPage>(`/v1/experiments?${q}`, { signal });
    },
    5_000,
    [status, offset],
  );
  const rows = list.data?.experiments ?? [];

  return (
    <section class="exp-page">
      <h1>Experiments</h1>
      <AccessNote needsToken={true} />
      <p>
        A/B tests, bandits, canary releases and shadow tests over the versions of a model. Open one for its
        figures and its actions.
      </p>
      <div class="exp-toolbar">
        <label for="exp-status-filter">Status</label>
        <select
          id="exp-status-filter"
          value={status}
          onChange={(e) => navigate(listHref(e.currentTarget.value, 0))}
        >
          <option value="">all</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <button type="button" aria-expanded={creating} onClick={() => setCreating(!creating)}>
          {creating ? 'Close the form' : 'New experiment'}
        </button>
        <UpdatedAt at={list.updatedAt} />
      </div>
      {creating && (
        <CreateForm
          onCreated={(name) => {
            setCreating(false);
            navigate(href('experiments', name));
          }}
        />
      )}
      <ErrorNotice error={list.error} what="the experiments" />
      {list.loading && <p aria-live="polite">Loading…</p>}
      {list.data && rows.length === 0 && (
        <p data-testid="experiments-empty">
          {status === '' ? 'No experiments yet.' : `No ${status} experiments.`}
        </p>
      )}
      {rows.length > 0 && (
        <div class="table-wrap">
          <table data-testid="experiments-table">
            <caption class="muted exp-caption">
              {list.data?.total ?? rows.length} experiment{(list.data?.total ?? rows.length) === 1 ? '' : 's'}
              {status === '' ? '' : ` ${status}`}, newest first
            </caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Model</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Verdict</th>
                <th scope="col">Progress</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <ExperimentRow key={e.name} experiment={e} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data && (
        <Pager
          offset={offset}
          limit={PAGE_SIZE}
          total={list.data.total}
          count={rows.length}
          onPage={(o) => navigate(listHref(status, o))}
          label="Experiments"
        />
      )}
    </section>
  );
}

function ExperimentRow({ experiment: e }: { experiment: Experiment }) {
  const active = isActive(e);
  // Only a running or paused experiment changes: its figures are read (at most two per model).
  const detail = usePoll(
    (signal) =>
      active ? api<Analysis>(`/v1/experiments/${seg(e.name)}`, { signal }) : Promise.resolve(undefined),
    active ? 15_000 : null,
    [e.name, active],
  );
  const a = detail.data;
  return (
    <tr data-testid="experiment-row">
      <th scope="row">
        <a href={href('experiments', e.name)}>{e.name}</a>
        {e.description ? <div class="muted exp-desc">{e.description}</div> : null}
      </th>
      <td>{e.model}</td>
      <td>{kindLabel(e.type)}</td>
      <td>
        <span class={statusClass(e.status)}>{e.status}</span>
      </td>
      <td data-testid="experiment-verdict">
        {active ? (a ? liveVerdict(a) : '…') : (finalVerdict(e) ?? '—')}
      </td>
      <td data-testid="experiment-progress">{active ? (a ? progressText(a) : '…') : finalProgress(e)}</td>
      <td class="exp-nowrap">{fmtTime(e.createdAt)}</td>
    </tr>
  );
}
