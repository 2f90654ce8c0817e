import { useState } from 'preact/hooks';
import { api, seg } from '../../api.js';
import { ErrorNotice, UpdatedAt } from '../../components/notices.js';
import { fmtNum, fmtTime } from '../../format.js';
import { usePoll } from '../../poll.js';
import { href } from '../../route.js';
import { isStale, JobProgress, rejectsText, STALE_MS, StatusBadge } from './progress.js';
import type { JobStatusAnswer } from './types.js';

/** While a job runs, its figures are asked for again this often. */
const RUNNING_POLL_MS = 2_000;

function lastChunkAt(s: JobStatusAnswer): string | null {
  let last: string | null = null;
  for (const w of s.workers) if (last === null || w.lastChunkAt > last) last = w.lastChunkAt;
  return last;
}

/** One job: progress, rejects, and each process that worked on it with its rate. */
export function JobDetail({ jobId }: { jobId: string }) {
  // Polled every 2 s until it is known to be done or failed: then its figures no longer change.
  const [finished, setFinished] = useState(false);
  const job = usePoll(
    async (signal) => {
      const answer = await api<JobStatusAnswer>(`/v1/batch/jobs/${seg(jobId)}`, { signal });
      setFinished(answer.status !== 'running');
      return answer;
    },
    finished ? null : RUNNING_POLL_MS,
    [jobId],
  );
  const live = job.data;
  const error = job.error;
  const stale = live !== undefined && isStale({ ...live, lastChunkAt: lastChunkAt(live) });
  return (
    <>
      <p>
        <a href={href('batch')}>← All batch jobs</a>
      </p>
      <h2 data-testid="job-id">{jobId}</h2>
      <ErrorNotice error={error} what={`batch job ${jobId}`} />
      {live ? (
        <>
          <dl class="facts">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={live.status} stale={stale} />
              {live.status === 'running' && !stale ? ' (updated every 2 s)' : ''}
              {live.error ? <span data-testid="job-error"> {live.error}</span> : null}
            </dd>
            <dt>Progress</dt>
            <dd data-testid="job-progress">
              <JobProgress rowsDone={live.rowsDone} totalRows={live.totalRows} status={live.status} />
            </dd>
            <dt>Predicted</dt>
            <dd data-testid="job-predicted">{fmtNum(live.predicted)}</dd>
            <dt>Rejects</dt>
            <dd data-testid="job-rejects">{rejectsText(live.rejects, live.rowsDone)}</dd>
            <dt>Chunks</dt>
            <dd>
              {fmtNum(live.chunksDone)} / {live.totalChunks === null ? '?' : fmtNum(live.totalChunks)} done
              (chunk size {fmtNum(live.chunkSize)})
            </dd>
            <dt>Model</dt>
            <dd>
              {live.model}/{live.version}
            </dd>
            <dt>Input</dt>
            <dd>{live.input}</dd>
            <dt>Started</dt>
            <dd>{fmtTime(live.createdAt)}</dd>
            <dt>Updated</dt>
            <dd>{fmtTime(live.updatedAt)}</dd>
            <dt>Finished</dt>
            <dd>{fmtTime(live.finishedAt)}</dd>
          </dl>
          {stale ? (
            <p class="notice notice-warn">
              No chunk has been committed for more than {STALE_MS / 60_000} minutes: the process running it
              may have stopped. Running the same ferry batch predict command again resumes it.
            </p>
          ) : null}
          {live.rejects > 0 ? (
            <p class="muted">
              The rejected records, with their line and reason, are in the job's rejects file (ferry batch
              predict --rejects-fp; by default $FERRY_HOME/batch/&lt;job&gt;.rejects.csv).
            </p>
          ) : null}
          <h3>Workers</h3>
          {live.workers.length === 0 ? (
            <p>No chunk committed yet.</p>
          ) : (
            <div class="table-wrap">
              <table class="nowrap-head" data-testid="job-workers">
                <thead>
                  <tr>
                    <th scope="col">Process (host:pid)</th>
                    <th scope="col" class="num">
                      Chunks
                    </th>
                    <th scope="col" class="num">
                      Records
                    </th>
                    <th scope="col" class="num">
                      Rejects
                    </th>
                    <th scope="col" class="num">
                      Records/s
                    </th>
                    <th scope="col">First chunk</th>
                    <th scope="col">Last chunk</th>
                  </tr>
                </thead>
                <tbody>
                  {live.workers.map((w) => (
                    <tr key={w.worker}>
                      <td>{w.worker}</td>
                      <td class="num">{fmtNum(w.chunks)}</td>
                      <td class="num">{fmtNum(w.rows)}</td>
                      <td class="num">{fmtNum(w.rejects)}</td>
                      <td class="num" data-testid="worker-rate">
                        {w.rowsPerSecond === null ? '— (one chunk)' : fmtNum(w.rowsPerSecond)}
                      </td>
                      <td>{fmtTime(w.firstChunkAt)}</td>
                      <td>{fmtTime(w.lastChunkAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p class="muted">
            A process's rate is the records of its chunks after the first, over the time from its first commit
            to its last.
          </p>
          <UpdatedAt at={job.updatedAt} />
        </>
      ) : null}
    </>
  );
}
