import { api } from '../../api.js';
import { ErrorNotice, UpdatedAt } from '../../components/notices.js';
import { fmtNum, fmtTime } from '../../format.js';
import { usePoll } from '../../poll.js';
import { href } from '../../route.js';
import type { ModelsAnswer } from './types.js';

/** Every registered model: its kinds, how many versions, its aliases and what this server serves. */
export function ModelList() {
  const models = usePoll((signal) => api<ModelsAnswer>('/v1/models', { signal }), 15_000, []);
  const data = models.data;
  return (
    <>
      <ErrorNotice error={models.error} what="the models" />
      {data && data.models.length === 0 && (
        <p>
          No models registered yet: train one with <code>ferry train --promote</code>.
        </p>
      )}
      {data && data.models.length > 0 && (
        <div class="table-wrap">
          <table data-testid="models-table" style={{ minWidth: '720px' }}>
            <caption class="muted" style={{ textAlign: 'left' }}>
              Registered models ({data.models.length})
            </caption>
            <thead>
              <tr style={{ whiteSpace: 'nowrap' }}>
                <th scope="col">Model</th>
                <th scope="col">Kinds</th>
                <th scope="col" class="num">
                  Versions
                </th>
                <th scope="col" class="num">
                  Latest
                </th>
                <th scope="col">Aliases</th>
                <th scope="col">Served here</th>
                <th scope="col">Registered</th>
              </tr>
            </thead>
            <tbody>
              {data.models.map((m) => {
                const served = Object.entries(data.served)
                  .filter(([ref]) => ref.startsWith(`${m.name}@`))
                  .map(([ref, v]) => `${ref.slice(m.name.length + 1)} → ${v}`);
                return (
                  <tr key={m.name}>
                    <th scope="row">
                      <a href={href('models', m.name)}>{m.name}</a>
                    </th>
                    <td>{m.kinds.join(', ') || '—'}</td>
                    <td class="num">{fmtNum(m.versionCount)}</td>
                    <td class="num">{m.latestVersion ?? '—'}</td>
                    <td>
                      {Object.entries(m.aliases)
                        .map(([a, v]) => `${a} → ${v}`)
                        .join(', ') || '—'}
                    </td>
                    <td>{served.join(', ') || '—'}</td>
                    <td>{fmtTime(m.createdAt)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <UpdatedAt at={models.updatedAt} />
    </>
  );
}
