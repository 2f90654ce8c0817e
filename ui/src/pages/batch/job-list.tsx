import { api } from '../../api.js';
import { ErrorNotice, UpdatedAt } from '../../components/notices.js';
import { Pager } from '../../components/pager.js';
import { fmtNum, fmtTime } from '../../format.js';
import { usePoll } from '../../poll.js';
import { href, navigate, type Route } from '../../route.js';
import { isStale, JobProgress, lastProgressAt, rejectsText, StatusBadge } from './progress.js';
import { JOB_STATUSES, type JobList, type JobStatus } from './types.js';

const PAGE = 20;

function listLocation(status: JobStatus | undefined, offset: number): string {
  const q = new URLSearchParams();
  if (status !== undefined) q.set('status', status);
  if (offset > 0) q.set('offset', String(offset));
  const qs = q.toString();
  return `${href('batch')}${qs === '' ? '' : `?${qs}`}`;
}

/** The jobs, newest first, a page at a time, filtered by status (in the URL: shareable). */
export function JobListView({ route }: { route: Route }) {
  const statusParam = route.query.get('status');
  const status = JOB_STATUSES.find((s) => s === statusParam);
  const offsetParam = Number(route.query.get('offset') ?? '0');
  const offset = Number.isSafeInteger(offsetParam) && offsetParam >= 0 ? offsetParam : 0;
  const list = usePoll(
    (signal) => {
      const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
      if (status !== undefined) q.set('status', status);
      return api<JobList>(`/v1/batch/jobs?${q}`, { signal });
    },
    5_000,
    [status, offset],
  );
  const data = list.data;
  return (
    <>
      <div class="pager">
        <label>
          Status{' '}
          <select
            value={status ?? ''}
            onChange={(e) => {
              const v = (e.currentTarget as HTMLSelectElement).value;
              navigate(
                listLocation(
                  JOB_STATUSES.find((s) => s === v),
                  0,
                ),
              );
            }}
          >
            <option value="">any</option>
            {JOB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <UpdatedAt at={list.updatedAt} />
      </div>
      <ErrorNotice error={list.error} what="the batch jobs" />
      {data && data.jobs.length === 0 ? (
        <p data-testid="no-jobs">
          {status === undefined
            ? 'No batch job has run against this database yet. Start one with ferry batch predict.'
            : `No ${status} batch job.`}
        </p>
      ) : null}
      {data && data.jobs.length > 0 ? (
        <div class="table-wrap">
          <table class="nowrap-head" data-testid="batch-jobs">
            <caption class="muted">
              {fmtNum(data.total)} job{data.total === 1 ? '' : 's'}
              {status === undefined ? '' : ` ${status}`}, newest first
            </caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Model</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col" class="num">
                  Rejects
                </th>
                <th scope="col" class="num">
                  Workers
                </th>
                <th scope="col">Started</th>
                <th scope="col">Last progress</th>
              </tr>
            </thead>
            <tbody>
              {data.jobs.map((j) => (
                <tr key={j.jobId} data-job-id={j.jobId}>
                  <td>
                    <a href={href('batch', j.jobId)}>{j.jobId}</a>
                  </td>
                  <td>
                    {j.model}/{j.version}
                  </td>
                  <td>
                    <StatusBadge status={j.status} stale={isStale(j)} />
                  </td>
                  <td>
                    <JobProgress rowsDone={j.rowsDone} totalRows={j.totalRows} status={j.status} />
                  </td>
                  <td class="num" data-testid="job-rejects">
                    {rejectsText(j.rejects, j.rowsDone)}
                  </td>
                  <td class="num" data-testid="job-workers">
                    {fmtNum(j.workers)}
                  </td>
                  <td>{fmtTime(j.createdAt)}</td>
                  <td>{fmtTime(lastProgressAt(j))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {data ? (
        <Pager
          offset={offset}
          limit={PAGE}
          total={data.total}
          count={data.jobs.length}
          onPage={(o) => navigate(listLocation(status, o))}
          label="Batch jobs"
        />
      ) : null}
    </>
  );
}
