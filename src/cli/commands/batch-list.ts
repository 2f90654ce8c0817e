import type { Command } from 'commander';
import { openFerry } from '../../app/open-ferry.js';
import {
  BATCH_JOB_STATUSES,
  type BatchJobList,
  DEFAULT_BATCH_LIST_LIMIT,
  listBatchJobs,
  MAX_BATCH_LIST_LIMIT,
  MAX_BATCH_LIST_OFFSET,
} from '../../batch/job/batch-status.js';
import type { JobStatus } from '../../batch/job/job-tables.js';
import { loadConfig } from '../../core/config.js';
import { printJson, usageError } from '../output.js';
import { parseIntOption } from './options.js';

interface BatchListFlags {
  limit: number;
  offset: number;
  status?: string;
  model?: string;
  json: boolean;
}

/** Control characters (a job id or model name is operator input) shown as `?` in the terminal. */
function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to replace them
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** `2026-12-07T09:14:03.123Z` → `2026-12-07 09:14:03Z` (UTC, as stored). */
function shortTime(iso: string | null): string {
  return iso === null ? '-' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** The list as a table, one job a line, and where this page is in the whole. */
export function renderBatchList(list: BatchJobList): string {
  if (list.total === 0) return 'no batch jobs in this database\n';
  const n = (x: number) => x.toLocaleString('en-US');
  const header = ['JOB', 'MODEL', 'STATUS', 'ROWS DONE/TOTAL', 'REJECTS', 'WORKERS', 'STARTED', 'UPDATED'];
  const rows = list.jobs.map((j) => {
    const updated = j.lastChunkAt !== null && j.lastChunkAt > j.updatedAt ? j.lastChunkAt : j.updatedAt;
    return [
      printable(j.jobId),
      printable(`${j.model}/${j.version}`),
      j.status,
      `${n(j.rowsDone)}/${j.totalRows === null ? '?' : n(j.totalRows)}`,
      n(j.rejects),
      n(j.workers),
      shortTime(j.createdAt),
      shortTime(updated),
    ];
  });
  const right = new Set([3, 4, 5]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const first = list.jobs.length === 0 ? 0 : list.offset + 1;
  const footer = `jobs ${n(first)}–${n(list.offset + list.jobs.length)} of ${n(list.total)}, newest first`;
  return `${[line(header), ...rows.map(line), footer].join('\n')}\n`;
}

/** The flags as listBatchJobs options, or a usage error (exit 2). */
function listOptions(flags: BatchListFlags) {
  if (flags.limit < 1 || flags.limit > MAX_BATCH_LIST_LIMIT)
    throw usageError(`--limit must be from 1 to ${MAX_BATCH_LIST_LIMIT}`);
  if (flags.offset > MAX_BATCH_LIST_OFFSET)
    throw usageError(`--offset must be at most ${MAX_BATCH_LIST_OFFSET.toLocaleString('en-US')}`);
  if (flags.status !== undefined && !BATCH_JOB_STATUSES.includes(flags.status as JobStatus))
    throw usageError(`--status must be one of ${BATCH_JOB_STATUSES.join(', ')}`);
  if (
    flags.model !== undefined &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
    (flags.model === '' || flags.model.length > 256 || /[\u0000-\u001f\u007f]/.test(flags.model))
  )
    throw usageError('--model must be a model name of 1 to 256 characters, no control characters');
  return {
    limit: flags.limit,
    offset: flags.offset,
    ...(flags.status !== undefined ? { status: flags.status as JobStatus } : {}),
    ...(flags.model !== undefined ? { model: flags.model } : {}),
  };
}

/** `ferry batch list`: the jobs of this database (FERRY_DB, the registry's), newest first. */
export function registerBatchList(batch: Command): void {
  batch
    .command('list')
    .description('batch jobs of this database, newest first, with their progress and rejects')
    .option(
      '--limit <n>',
      `jobs to show, 1 to ${MAX_BATCH_LIST_LIMIT}`,
      parseIntOption,
      DEFAULT_BATCH_LIST_LIMIT,
    )
    .option('--offset <n>', 'jobs to skip (the next page)', parseIntOption, 0)
    .option('--status <status>', `only jobs in this state: ${BATCH_JOB_STATUSES.join(', ')}`)
    .option('--model <name>', "only this model's jobs (every version)")
    .option('--json', 'JSON output: {jobs, total, limit, offset}', false)
    .action(async (flags: BatchListFlags) => {
      const opts = listOptions(flags);
      const ctx = await openFerry(loadConfig());
      try {
        const list = await listBatchJobs(ctx.sql, opts);
        if (flags.json) printJson(list);
        else process.stdout.write(renderBatchList(list));
      } finally {
        await ctx.close();
      }
    });
}
