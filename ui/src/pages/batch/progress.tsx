import { fmtNum, fmtPct } from '../../format.js';
import type { JobStatus } from './types.js';

/** The job's records done against its total: a <progress> and the same figures in words. */
export function JobProgress({
  rowsDone,
  totalRows,
  status,
}: {
  rowsDone: number;
  totalRows: number | null;
  status: JobStatus;
}) {
  // The total is known once the input has been read to its end (or up front for a query).
  if (totalRows === null) {
    return (
      <span class="job-progress">
        {status === 'running' ? <progress aria-label="records done, total not known yet" /> : null}{' '}
        <span>{fmtNum(rowsDone)} records so far (total not known yet)</span>
      </span>
    );
  }
  const ratio = totalRows === 0 ? 1 : rowsDone / totalRows;
  const text = `${fmtNum(rowsDone)} / ${fmtNum(totalRows)} records (${fmtPct(ratio, 0)})`;
  return (
    <span class="job-progress">
      <progress value={rowsDone} max={Math.max(totalRows, 1)} aria-label={text} /> <span>{text}</span>
    </span>
  );
}

export function StatusBadge({ status, stale }: { status: JobStatus; stale?: boolean }) {
  const cls = status === 'done' ? 'badge-ok' : status === 'failed' ? 'badge-bad' : 'badge-warn';
  return (
    <span class={`badge ${cls}`} data-testid="job-status">
      {stale ? 'running? (no progress)' : status}
    </span>
  );
}

/** Rejected records as a count and a share of the records done. */
export function rejectsText(rejects: number, rowsDone: number): string {
  if (rejects === 0) return '0';
  return `${fmtNum(rejects)} (${fmtPct(rowsDone === 0 ? 0 : rejects / rowsDone)})`;
}

/** A running job with no progress for this long may have lost its process. */
export const STALE_MS = 10 * 60 * 1000;

/** The latest sign of progress: the last chunk committed, or the job's own update. */
export function lastProgressAt(job: { updatedAt: string; lastChunkAt?: string | null }): string {
  return job.lastChunkAt != null && job.lastChunkAt > job.updatedAt ? job.lastChunkAt : job.updatedAt;
}

export function isStale(job: { status: JobStatus; updatedAt: string; lastChunkAt?: string | null }): boolean {
  return job.status === 'running' && Date.now() - Date.parse(lastProgressAt(job)) > STALE_MS;
}
