import { join } from 'node:path';
import type { Command } from 'commander';
import { BullmqJobQueue, openSqlClient, sqliteFileOf } from '../../app/backends.js';
import { openFerry } from '../../app/open-ferry.js';
import { startBatchWorker } from '../../batch/distributed/batch-worker.js';
import {
  BATCH_QUEUE_NAME,
  type ChunkMessage,
  chunkMessageId,
} from '../../batch/distributed/chunk-message.js';
import { getBatchJobStatus } from '../../batch/job/batch-status.js';
import { formatOfPath } from '../../batch/job/inputs/open-input.js';
import { parseInputMap } from '../../batch/job/inputs/row-mapping.js';
import type { DispatchedChunk } from '../../batch/job/run-batch-job.js';
import {
  type BatchJobSummary,
  DEFAULT_CHUNK_SIZE,
  DEFAULT_MAX_ERRORS,
  runBatchJob,
} from '../../batch/job/run-batch-job.js';
import type { InputSpec } from '../../batch/job/types.js';
import { entityIdProblem, PredictionStore } from '../../batch/prediction-store.js';
import { type FerryConfig, loadConfig } from '../../core/config.js';
import { DEFAULT_MODEL_NAME } from '../../core/settings/catalogue.js';
import { readSetting } from '../../core/settings/read-settings.js';
import type { SqlClient } from '../../ports/sql.js';
import { printJson, usageError } from '../output.js';
import { validateOutputPath } from '../output-path.js';
import { processLogger } from '../process-logger.js';
import { terminalProgress } from '../progress-bar.js';
import { registerBatchList } from './batch-list.js';
import { parseIntOption } from './options.js';

/** The flags of `ferry batch predict`; a distributed mode adds its own (e.g. `queue`) beside them. */
export interface BatchPredictFlags {
  model: string;
  inputLoc?: string;
  inputFormat?: string;
  idColumn: string;
  inputMap?: string;
  inputSql?: string;
  inputDb?: string;
  chunkSize?: number;
  maxErrors: number;
  rejectsFp?: string;
  jobId?: string;
  recomputeLive: boolean;
  json: boolean;
  /** Distributed mode: chunks go to this BullMQ (Redis) queue for `ferry batch worker` processes. */
  queue?: string;
  queueName: string;
}

/** Where the records come from, validated from the flags; a SQL input's client is opened later. */
export type BatchInputFlags =
  | { kind: 'csv' | 'jsonl'; path: string; idColumn: string }
  | { kind: 'sql'; query: string; dbUrl: string; idColumn: string };

/** Adds the options every `batch predict` mode shares (input, model, chunking, errors, job id). */
function addBatchPredictOptions(cmd: Command): Command {
  return cmd
    .option(
      '--model <ref>',
      'model reference (name@alias or name/version)',
      `${DEFAULT_MODEL_NAME}@production`,
    )
    .option('--input-loc <path>', 'input file: CSV, or JSON Lines (.jsonl/.ndjson)')
    .option('--input-format <format>', 'csv or jsonl (default: from the file extension)')
    .option('--id-column <name>', 'column (or JSON key) holding the entity id', 'id')
    .option(
      '--input-map <tensor=column,...>',
      "the model's inputs to read from which columns (default: each input from the column of its name; the text classifier: title=title,description=description)",
    )
    .option('--input-sql <query>', 'read the input from this query (columns: id and the model inputs)')
    .option(
      '--input-db <url>',
      'database of --input-sql: sqlite:<path> or postgres://… (default: FERRY_DB); rows are read in id order',
    )
    .option(
      '--chunk-size <n>',
      `records per chunk (default ${DEFAULT_CHUNK_SIZE}, or the resumed job's)`,
      parseIntOption,
    )
    .option(
      '--max-errors <n>',
      'fail the job once more records than this are rejected',
      parseIntOption,
      DEFAULT_MAX_ERRORS,
    )
    .option(
      '--rejects-fp <path>',
      'rejects file, CSV or .jsonl (default: $FERRY_HOME/batch/<job>.rejects.csv)',
    )
    .option(
      '--job-id <id>',
      'job id (default: derived from the model version and the input, so reruns resume)',
    )
    .option(
      '--recompute-live',
      'rerun: predict again the entities of committed chunks that a live write-back replaced since',
      false,
    )
    .option('--json', 'machine-readable output on stdout', false)
    .option(
      '--queue <redis-url>',
      'distributed: enqueue chunks on BullMQ for `ferry batch worker` processes, wait for them',
    )
    .option('--queue-name <name>', 'distributed: queue name (workers must use the same)', BATCH_QUEUE_NAME);
}

/** Checks the input flags (exactly one of --input-loc and --input-sql) and what goes with them. */
function parseBatchInputFlags(flags: BatchPredictFlags, config: FerryConfig): BatchInputFlags {
  if (flags.inputLoc !== undefined && flags.inputSql !== undefined) {
    throw usageError('give either --input-loc or --input-sql, not both');
  }
  if (flags.chunkSize !== undefined && flags.chunkSize < 1)
    throw usageError('--chunk-size must be at least 1');
  // runBatchJob refuses a bad id too (FERRY_BATCH_INVALID_ID); on the command line it is a usage error.
  const jobIdProblem = flags.jobId === undefined ? undefined : entityIdProblem(flags.jobId);
  if (jobIdProblem !== undefined) throw usageError(`invalid --job-id: ${jobIdProblem}`);
  if (flags.inputSql !== undefined) {
    if (flags.inputFormat !== undefined)
      throw usageError('--input-format goes with --input-loc, not --input-sql');
    return {
      kind: 'sql',
      query: flags.inputSql,
      dbUrl: flags.inputDb ?? config.db,
      idColumn: flags.idColumn,
    };
  }
  if (flags.inputLoc === undefined)
    throw usageError('give the input: --input-loc <file> or --input-sql <query>');
  if (flags.inputDb !== undefined) throw usageError('--input-db goes with --input-sql');
  const format = flags.inputFormat ?? formatOfPath(flags.inputLoc);
  if (format !== 'csv' && format !== 'jsonl') {
    throw usageError(`unknown --input-format "${format}"; use csv or jsonl`);
  }
  return { kind: format, path: flags.inputLoc, idColumn: flags.idColumn };
}

/** Opens what the input needs (a database client for --input-sql) and returns its spec and closer. */
async function openInputSpec(
  input: BatchInputFlags,
): Promise<{ spec: InputSpec; close: () => Promise<void> }> {
  if (input.kind !== 'sql') return { spec: input, close: async () => {} };
  const client: SqlClient = openSqlClient(input.dbUrl);
  try {
    await client.init();
  } catch (e) {
    await client.close().catch(() => {});
    throw e;
  }
  return {
    spec: { kind: 'sql', client, query: input.query, dbUrl: input.dbUrl, idColumn: input.idColumn },
    close: () => client.close(),
  };
}

function printSummary(s: BatchJobSummary): void {
  const n = (x: number) => x.toLocaleString('en-US');
  process.stdout.write(
    [
      `batch job ${s.jobId} done (${s.model})${s.alreadyFinished ? ': it had finished, nothing to do' : ''}`,
      `  rows ${n(s.rows)}: predicted ${n(s.predicted)}, rejected ${n(s.rejects)}; ${n(s.chunks)} chunks, ${n(s.skippedChunks)} already done`,
      `  this run: ${n(s.processedRows)} rows in ${s.seconds.toFixed(1)} s, ${n(s.rowsPerSecond)} rows/s`,
      s.recomputedRows > 0 ? `  recomputed ${n(s.recomputedRows)} entities written back live since` : '',
      s.rejectsPath ? `  rejects: ${s.rejectsPath}` : '',
    ]
      .filter(Boolean)
      .join('\n') + '\n',
  );
}

/** `ferry batch predict` in this process (a distributed mode branches off before calling this). */
async function runBatchPredict(flags: BatchPredictFlags): Promise<BatchJobSummary> {
  const config = loadConfig();
  const inputFlags = parseBatchInputFlags(flags, config);
  const inputMap = inputMapFlag(flags.inputMap);
  // Before any work: the rejects file is written after every chunk has committed.
  await validateOutputPath(flags.rejectsFp ?? defaultRejectsPath(config, flags.jobId ?? 'job'), {
    flag: flags.rejectsFp === undefined ? '--rejects-fp (default)' : '--rejects-fp',
    inputs: [
      inputFlags.kind === 'sql' ? sqliteFileOf(inputFlags.dbUrl) : inputFlags.path,
      sqliteFileOf(config.db),
    ],
  });
  const ctx = await openFerry(config);
  const queue = flags.queue ? openChunkQueue(flags.queue, flags.queueName) : undefined;
  try {
    await queue?.init();
    const input = await openInputSpec(inputFlags);
    try {
      const summary = await runBatchJob({
        registry: ctx.registry,
        sql: ctx.sql,
        store: new PredictionStore({ sql: ctx.sql }),
        model: flags.model,
        input: input.spec,
        ...(inputMap ? { inputMap } : {}),
        chunkSize: flags.chunkSize,
        maxErrors: flags.maxErrors,
        rejectsPath: flags.rejectsFp ?? ((jobId) => defaultRejectsPath(config, jobId)),
        jobId: flags.jobId,
        recomputeLive: flags.recomputeLive,
        progress: terminalProgress(),
        predictInThread: !queue,
        ...(queue
          ? {
              dispatch: (chunk: DispatchedChunk) =>
                queue.enqueue(chunk, { jobId: chunkMessageId(chunk.jobId, chunk.chunkIndex), attempts: 5 }),
            }
          : {}),
      });
      if (flags.json) printJson(summary);
      else printSummary(summary);
      return summary;
    } finally {
      await input.close();
    }
  } finally {
    await queue?.close();
    await ctx.close();
  }
}

/** --input-map as a map, or a usage error (the job refuses it as FERRY_BATCH_INVALID_OPTIONS from a library caller). */
function inputMapFlag(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  try {
    return parseInputMap(text);
  } catch (e) {
    throw usageError(e instanceof Error ? e.message : String(e));
  }
}

function openChunkQueue(url: string, name: string): BullmqJobQueue<ChunkMessage> {
  const lockMs = readSetting(process.env, 'FERRY_BATCH_LOCK_MS');
  return new BullmqJobQueue<ChunkMessage>({ url, name, lockDurationMs: lockMs, keepFailedSeconds: 0 });
}

function defaultRejectsPath(config: FerryConfig, jobId: string): string {
  return join(config.home, 'batch', `${jobId}.rejects.csv`);
}

/**
 * Registers `ferry batch` with `predict`, `status` and `list`, and returns the `batch` command so that
 * other subcommands (e.g. `worker`) can be added to it.
 */
export function registerBatchCommand(program: Command): Command {
  const batch = program
    .command('batch')
    .description('batch predictions: computed ahead of time into the prediction store, resumable');

  addBatchPredictOptions(
    batch
      .command('predict')
      .description(
        'predict every record of a CSV, JSONL or SQL input into the prediction store; reruns resume',
      ),
  ).action(async (flags: BatchPredictFlags) => {
    await runBatchPredict(flags);
  });

  batch
    .command('status <jobId>')
    .description('progress of a batch job across every process that worked on it')
    .option('--json', 'JSON output', false)
    .action(async (jobId: string, flags: { json: boolean }) => {
      const ctx = await openFerry(loadConfig());
      try {
        const s = await getBatchJobStatus(ctx.sql, jobId);
        if (flags.json) return printJson(s);
        const n = (x: number) => x.toLocaleString('en-US');
        const lines = [
          `batch job ${s.jobId}: ${s.status}${s.error ? ` (${s.error})` : ''}`,
          `  model ${s.model}/${s.version}, input ${s.input}`,
          `  chunks ${n(s.chunksDone)}/${s.totalChunks === null ? '?' : n(s.totalChunks)} done (chunk size ${n(s.chunkSize)})`,
          `  rows ${n(s.rowsDone)}${s.totalRows === null ? '' : `/${n(s.totalRows)}`}: predicted ${n(s.predicted)}, rejected ${n(s.rejects)}`,
          `  created ${s.createdAt}, updated ${s.updatedAt}${s.finishedAt ? `, finished ${s.finishedAt}` : ''}`,
          s.workers.length > 0 ? '  workers:' : '',
          ...s.workers.map(
            (w) =>
              `    ${w.worker}: ${n(w.chunks)} chunks, ${n(w.rows)} rows, ${n(w.rejects)} rejects${w.rowsPerSecond === null ? '' : `, ${n(w.rowsPerSecond)} rows/s`}`,
          ),
        ];
        process.stdout.write(`${lines.filter(Boolean).join('\n')}\n`);
      } finally {
        await ctx.close();
      }
    });

  registerBatchList(batch);

  batch
    .command('worker')
    .description(
      'take chunks of distributed batch jobs from the queue until SIGTERM/SIGINT (run one per core, on any machine)',
    )
    .requiredOption('--queue <redis-url>', 'the BullMQ (Redis) queue the coordinator enqueues on')
    .option('--queue-name <name>', 'queue name', BATCH_QUEUE_NAME)
    .option('--concurrency <n>', 'chunks at once in this process', parseIntOption, 1)
    .action(async (flags: { queue: string; queueName: string; concurrency: number }) => {
      const log = processLogger();
      const ctx = await openFerry(loadConfig());
      const queue = openChunkQueue(flags.queue, flags.queueName);
      await queue.init();
      const { worker } = await startBatchWorker({
        queue,
        registry: ctx.registry,
        sql: ctx.sql,
        store: new PredictionStore({ sql: ctx.sql }),
        concurrency: flags.concurrency,
        onChunk: (r) =>
          log.info(
            { event: 'batch_chunk', job: r.jobId, chunk: r.chunkIndex, status: r.status, rows: r.rows },
            `${r.jobId} chunk ${r.chunkIndex}: ${r.status}, ${r.rows} rows`,
          ),
        onError: (e, m) =>
          log.error(
            { event: 'batch_chunk_failed', job: m.jobId, chunk: m.chunkIndex, err: e },
            `chunk ${m.chunkIndex} of ${m.jobId} failed: ${(e as Error).message}`,
          ),
      });
      log.info(
        { worker, queue: flags.queueName },
        `batch worker ${worker} waiting for chunks on ${flags.queueName}`,
      );
      const stop = () => {
        void queue
          .close()
          .then(() => ctx.close())
          .then(() => process.exit(0));
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      await new Promise(() => {});
    });

  return batch;
}
