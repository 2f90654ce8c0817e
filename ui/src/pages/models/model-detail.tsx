import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api, seg } from '../../api.js';
import { ErrorNotice, UpdatedAt } from '../../components/notices.js';
import { Pager } from '../../components/pager.js';
import { fmtBytes, fmtNum, fmtTime } from '../../format.js';
import { usePoll } from '../../poll.js';
import { href, navigate } from '../../route.js';
import { type AliasAction, AliasDialog } from './alias-dialog.js';
import type { AliasesAnswer, AliasMoveAnswer, ModelVersion, VersionsAnswer } from './types.js';

const VERSIONS_PAGE = 20;
/** Figures, times and buttons never break inside (the table scrolls sideways instead). */
const NOWRAP = { whiteSpace: 'nowrap' } as const;
const HISTORY_PAGE = 20;

/** Metrics shown in their own columns; the rest are listed under "All metrics". */
const F1 = 'val_f1';

/** A page offset from the location's query: a whole number, else 0. */
function offsetIn(query: URLSearchParams, key: string): number {
  const raw = query.get(key) ?? '';
  return /^[0-9]{1,9}$/.test(raw) ? Number(raw) : 0;
}

function text(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return fmtNum(value, 4);
  if (typeof value === 'string') return value;
  const json = JSON.stringify(value);
  return json.length > 200 ? `${json.slice(0, 199)}…` : json;
}

/** A record as a compact definition list (every value as text: Preact escapes it). */
function Facts({ record }: { record: Record<string, unknown> }) {
  const entries = Object.entries(record);
  if (entries.length === 0) return <span class="muted">none</span>;
  return (
    <dl class="facts" style={{ fontSize: '0.9rem' }}>
      {entries.map(([k, v]) => (
        <Fragment key={k}>
          <dt>{k}</dt>
          <dd>{text(v)}</dd>
        </Fragment>
      ))}
    </dl>
  );
}

function VersionRow({ v, onPromote }: { v: ModelVersion; onPromote: (version: number) => void }) {
  const sha = typeof v.dataset.sha256 === 'string' ? v.dataset.sha256 : null;
  const rows = v.dataset.rows;
  const seed = v.dataset.seed;
  return (
    <tr data-testid={`version-${v.version}`}>
      <th scope="row" class="num" style={NOWRAP}>
        {v.version}
      </th>
      <td>
        {v.aliases.length > 0
          ? v.aliases.map((a) => (
              <span class="badge badge-ok" key={a}>
                {a}
              </span>
            ))
          : '—'}
      </td>
      <td>{v.kind}</td>
      <td class="num" data-testid="val-f1" style={NOWRAP}>
        {typeof v.metrics[F1] === 'number' ? fmtNum(v.metrics[F1] as number, 4) : '—'}
      </td>
      <td>
        <details>
          <summary>
            P {text(v.metrics.val_precision)} · R {text(v.metrics.val_recall)}
          </summary>
          <Facts record={v.metrics} />
        </details>
      </td>
      <td>
        <details>
          <summary>
            {text(v.dataset.source)}
            {typeof rows === 'number' ? `, ${fmtNum(rows)} rows` : ''}
            {sha ? (
              <>
                {' '}
                · <code title={sha}>{sha.slice(0, 12)}</code>
              </>
            ) : null}
          </summary>
          <Facts record={v.dataset} />
        </details>
      </td>
      <td>
        <details>
          <summary>
            {v.gitCommit ? (
              <>
                git <code title={v.gitCommit}>{v.gitCommit.slice(0, 12)}</code>
              </>
            ) : (
              'no git commit'
            )}
            {seed !== undefined ? ` · seed ${text(seed)}` : ''}
            {Object.entries(v.tags).map(([k, t]) => ` · ${k}: ${t}`)}
          </summary>
          <p class="muted">Training parameters</p>
          <Facts record={v.params} />
          <p class="muted">Artifact</p>
          <code title={v.artifactSha256}>sha256 {v.artifactSha256.slice(0, 16)}…</code>
        </details>
      </td>
      <td class="num" style={NOWRAP}>
        {fmtBytes(v.artifactSize)}
      </td>
      <td style={NOWRAP}>{fmtTime(v.createdAt)}</td>
      <td style={NOWRAP}>
        {v.aliases.includes('production') ? (
          <span class="muted">in production</span>
        ) : (
          <button
            type="button"
            onClick={() => onPromote(v.version)}
            aria-label={`Promote version ${v.version} to production`}
          >
            Promote…
          </button>
        )}
      </td>
    </tr>
  );
}

/** One model: its aliases and their history, its versions a page at a time, and the alias actions. */
export function ModelDetail({ name, query }: { name: string; query: URLSearchParams }) {
  // The pages are in the location (#/models/<name>?versions=20&history=0): a link shows the same page.
  const versionOffset = offsetIn(query, 'versions');
  const historyOffset = offsetIn(query, 'history');
  const goTo = (versions: number, history: number) => {
    const q = new URLSearchParams();
    if (versions > 0) q.set('versions', String(versions));
    if (history > 0) q.set('history', String(history));
    const rest = q.toString();
    navigate(`${href('models', name)}${rest === '' ? '' : `?${rest}`}`);
  };
  const setVersionOffset = (o: number) => goTo(o, historyOffset);
  const setHistoryOffset = (o: number) => goTo(versionOffset, o);
  const [action, setAction] = useState<AliasAction | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const versions = usePoll(
    (signal) =>
      api<VersionsAnswer>(
        `/v1/models/${seg(name)}?limit=${VERSIONS_PAGE}&offset=${versionOffset}&order=newest`,
        { signal },
      ),
    30_000,
    [name, versionOffset],
  );
  const aliases = usePoll(
    (signal) =>
      api<AliasesAnswer>(`/v1/models/${seg(name)}/aliases?limit=${HISTORY_PAGE}&offset=${historyOffset}`, {
        signal,
      }),
    15_000,
    [name, historyOffset],
  );
  const current = aliases.data?.aliases ?? {};
  const latest = versions.data && versionOffset === 0 ? (versions.data.versions[0]?.version ?? null) : null;

  const promote = (version: number | null) =>
    setAction({ kind: 'move', alias: 'production', version, title: `Promote ${name} to production` });
  const finished = (move: AliasMoveAnswer, rolledBack: boolean) => {
    setAction(null);
    setDone(
      `${rolledBack ? 'Rolled back' : 'Moved'} ${move.name}@${move.alias}: ${move.from ?? 'none'} → ${move.to}.`,
    );
    if (historyOffset !== 0) setHistoryOffset(0);
    versions.reload();
    aliases.reload();
  };

  return (
    <>
      <ErrorNotice error={versions.error ?? aliases.error} what={`model ${name}`} />
      {done !== null && (
        <p class="notice notice-ok" role="status" data-testid="action-done">
          {done}
        </p>
      )}

      <h2 id="aliases-heading">Aliases</h2>
      <div class="actions" style={{ justifyContent: 'flex-start' }}>
        <button type="button" class="primary" onClick={() => promote(latest)} disabled={!versions.data}>
          Promote to production…
        </button>
        <button
          type="button"
          onClick={() =>
            setAction({ kind: 'move', alias: '', version: null, title: `Move an alias of ${name}` })
          }
          disabled={!versions.data}
        >
          Move alias…
        </button>
      </div>
      {aliases.data && Object.keys(current).length === 0 && <p>No aliases: nothing is served by alias.</p>}
      {aliases.data && Object.keys(current).length > 0 && (
        <div class="table-wrap">
          <table aria-labelledby="aliases-heading" data-testid="aliases-table">
            <thead>
              <tr style={NOWRAP}>
                <th scope="col">Alias</th>
                <th scope="col" class="num">
                  Version
                </th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(current).map(([alias, version]) => (
                <tr key={alias}>
                  <th scope="row" style={NOWRAP}>
                    {alias}
                  </th>
                  <td class="num">{version}</td>
                  <td>
                    <div class="actions" style={{ justifyContent: 'flex-start', marginTop: 0 }}>
                      <button
                        type="button"
                        aria-label={`Move ${alias}…`}
                        onClick={() =>
                          setAction({ kind: 'move', alias, version, title: `Move ${name}@${alias}` })
                        }
                      >
                        Move…
                      </button>
                      <button
                        type="button"
                        class="danger"
                        aria-label={`Roll back ${alias}…`}
                        onClick={() => setAction({ kind: 'rollback', alias })}
                      >
                        Roll back…
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2 id="versions-heading">Versions{versions.data ? ` (${fmtNum(versions.data.total)})` : ''}</h2>
      <p class="muted">
        Newest first. Open a cell for every metric, the dataset and the training parameters.
      </p>
      {versions.data && (
        <>
          <div class="table-wrap">
            <table
              aria-labelledby="versions-heading"
              data-testid="versions-table"
              style={{ minWidth: '1100px' }}
            >
              <thead>
                <tr style={NOWRAP}>
                  <th scope="col" class="num">
                    Version
                  </th>
                  <th scope="col">Aliases</th>
                  <th scope="col">Kind</th>
                  <th scope="col" class="num">
                    Val F1
                  </th>
                  <th scope="col">Metrics</th>
                  <th scope="col">Dataset</th>
                  <th scope="col">Lineage</th>
                  <th scope="col" class="num">
                    Size
                  </th>
                  <th scope="col">Created</th>
                  <th scope="col">Action</th>
                </tr>
              </thead>
              <tbody>
                {versions.data.versions.map((v) => (
                  <VersionRow key={v.version} v={v} onPromote={promote} />
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            label="Versions"
            offset={versionOffset}
            limit={VERSIONS_PAGE}
            total={versions.data.total}
            count={versions.data.versions.length}
            onPage={setVersionOffset}
          />
        </>
      )}
      <UpdatedAt at={versions.updatedAt} />

      <h2 id="history-heading">
        Alias history
        {aliases.data
          ? ` (${fmtNum(aliases.data.total)} ${aliases.data.total === 1 ? 'move' : 'moves'})`
          : ''}
      </h2>
      {aliases.data && aliases.data.total === 0 && <p>No alias has moved yet.</p>}
      {aliases.data && aliases.data.events.length > 0 && (
        <>
          <div class="table-wrap">
            <table
              aria-labelledby="history-heading"
              data-testid="history-table"
              style={{ minWidth: '560px' }}
            >
              <thead>
                <tr style={NOWRAP}>
                  <th scope="col">Time</th>
                  <th scope="col">Alias</th>
                  <th scope="col">From → to</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {aliases.data.events.map((e) => (
                  <tr key={e.id}>
                    <td style={NOWRAP}>{fmtTime(e.at)}</td>
                    <td style={NOWRAP}>{e.alias}</td>
                    <td style={NOWRAP}>
                      {e.fromVersion ?? 'none'} → {e.toVersion ?? 'deleted'}
                    </td>
                    <td data-testid="history-reason">{e.reason ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            label="Alias history"
            offset={historyOffset}
            limit={HISTORY_PAGE}
            total={aliases.data.total}
            count={aliases.data.events.length}
            onPage={setHistoryOffset}
          />
        </>
      )}

      {action !== null && (
        <AliasDialog
          model={name}
          action={action}
          aliases={current}
          onDone={finished}
          onStale={aliases.reload}
          onClose={() => setAction(null)}
        />
      )}
    </>
  );
}
