import type { Command } from 'commander';
import { parseEventTime } from '../../features/event-time.js';
import { DEFAULT_CHUNK_SIZE, type MaterializeSummary, materialize } from '../../features/materialize.js';
import { printJson, usageError } from '../output.js';
import { terminalProgress } from '../progress-bar.js';
import { loadRepoFile, withFeatures } from './features-context.js';
import { registerFeaturesReadCommands } from './features-read.js';
import { parseIntOption } from './options.js';

function timeFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseEventTime(value);
  if (ms === undefined)
    throw usageError(`${flag} "${value}" is not an ISO 8601 date-time or milliseconds since the epoch`);
  return ms;
}

function printMaterialize(s: MaterializeSummary): void {
  const n = (x: number) => x.toLocaleString('en-US');
  const out: string[] = [];
  for (const v of s.views) {
    out.push(
      `view ${v.view} (${v.mode}): ${n(v.rows)} rows read, ${n(v.selected)} in range, ${n(v.bad)} bad; ` +
        `${n(v.offlineWritten)} offline values written, ${n(v.onlineWritten)} online rows; ` +
        `${n(v.chunks)} chunks (${n(v.skippedChunks)} already done); ` +
        `watermark ${v.watermarkMs === null ? 'none' : new Date(v.watermarkMs).toISOString()}; ${v.seconds.toFixed(1)} s`,
    );
    for (const b of v.badExamples) out.push(`  bad row at line ${b.line}: ${b.reason}`);
    if (v.bad > v.badExamples.length) out.push(`  … and ${n(v.bad - v.badExamples.length)} more bad rows`);
  }
  for (const k of s.skipped) out.push(`skipped view ${k.view}: ${k.reason}`);
  if (s.views.length === 0 && s.skipped.length === 0) out.push('no feature views to materialize');
  process.stdout.write(`${out.join('\n')}\n`);
}

/** `materialize`, `training-set` and `get`: the commands that move feature values. */
export function registerFeaturesDataCommands(features: Command): void {
  features
    .command('materialize')
    .description(
      "compute the row views' values from their batch sources into the offline and online stores (chunked, resumable, idempotent)",
    )
    .option(
      '--file <path>',
      'the definition file (default: FERRY_FEATURES_FILE, or features.json/.ts/.mjs in the project)',
    )
    .option('--views <names>', 'comma-separated views (default: every row view with a batch source)')
    .option('--start <time>', 'only rows with an event time at or after this (ISO 8601 or ms); with --end')
    .option('--end <time>', 'only rows with an event time before this; with --start')
    .option(
      '--incremental',
      "only rows newer than each view's watermark (the newest event time materialized)",
      false,
    )
    .option(
      '--chunk-size <n>',
      `source rows per chunk, one transaction each (default ${DEFAULT_CHUNK_SIZE})`,
      parseIntOption,
    )
    .option('--json', 'JSON output', false)
    .action(
      async (flags: {
        file?: string;
        views?: string;
        start?: string;
        end?: string;
        incremental: boolean;
        chunkSize?: number;
        json: boolean;
      }) => {
        const startMs = timeFlag('--start', flags.start);
        const endMs = timeFlag('--end', flags.end);
        if ((startMs === undefined) !== (endMs === undefined))
          throw usageError('give --start and --end together');
        if (startMs !== undefined && flags.incremental)
          throw usageError('give --start/--end or --incremental, not both');
        if (flags.chunkSize !== undefined && flags.chunkSize < 1)
          throw usageError('--chunk-size must be at least 1');
        const views = flags.views
          ?.split(',')
          .map((v) => v.trim())
          .filter((v) => v !== '');
        const loaded = await loadRepoFile(flags.file);
        await withFeatures(async (ctx) => {
          const summary = await materialize(
            {
              sql: ctx.sql,
              online: ctx.online,
              loaded,
              applied: await ctx.repoStore.appliedRepo(),
              openSource: ctx.openSource,
              progress: flags.json ? undefined : terminalProgress(),
            },
            {
              ...(views ? { views } : {}),
              ...(startMs !== undefined && endMs !== undefined ? { range: { startMs, endMs } } : {}),
              incremental: flags.incremental,
              ...(flags.chunkSize !== undefined ? { chunkSize: flags.chunkSize } : {}),
            },
          );
          if (flags.json) printJson(summary);
          else printMaterialize(summary);
        });
      },
    );

  registerFeaturesReadCommands(features);
}
