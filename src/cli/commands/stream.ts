import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { openSqlClient } from '../../app/backends.js';
import {
  createProducer,
  openPipelineContext,
  openStreamTransport,
  streamUrlOf,
} from '../../app/open-streams.js';
import { loadConfig } from '../../core/config.js';
import { ErrorCode, FerryError } from '../../core/errors.js';
import { readSetting } from '../../core/settings/read-settings.js';
import type { FeatureRepoDef } from '../../features/feature-definitions.js';
import { eventSpecs } from '../../features/stream-events.js';
import type { EventStream } from '../../ports/event-stream.js';
import { planPipeline } from '../../streams/pipeline-plan.js';
import { PipelineStateStore } from '../../streams/pipeline-state-store.js';
import { runPipeline } from '../../streams/run-pipeline.js';
import { printJson, usageError } from '../output.js';
import { processLogger } from '../process-logger.js';
import { loadRepoFile } from './features-context.js';
import { parseIntOption } from './options.js';

/** Events per publish call when reading a file. */
const PUBLISH_CHUNK = 1000;

async function withTransport<T>(fn: (stream: EventStream) => Promise<T>): Promise<T> {
  const stream = openStreamTransport(streamUrlOf(loadConfig()));
  try {
    await stream.init();
    return await fn(stream);
  } finally {
    await stream.close();
  }
}

/**
 * The events' key field(s): `--key-field`, else the join keys of the views reading the stream in
 * the feature repository (which also gives the event-time field every event must have).
 */
async function resolveKeyFields(
  stream: string,
  flags: { keyField?: string; featuresFile?: string },
): Promise<{ keyField: string[]; timeField?: string; idField?: string }> {
  if (flags.keyField !== undefined) {
    const keyField = flags.keyField
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean);
    if (keyField.length === 0) throw usageError('--key-field names no field');
    return { keyField };
  }
  let repo: FeatureRepoDef;
  try {
    repo = (await loadRepoFile(flags.featuresFile)).repo;
  } catch (e) {
    throw usageError(
      `give --key-field (the events' entity key field), or a feature repository whose views read "${stream}": ${(e as Error).message}`,
    );
  }
  const spec = eventSpecs(repo).get(stream);
  if (spec === undefined) {
    throw usageError(`no stream source of the feature repository reads "${stream}": give --key-field`);
  }
  return { keyField: [...spec.keyFields], timeField: spec.timestampField, idField: spec.idField };
}

/** The events of `--data` (an object or a list of them) or of a JSON-lines file, in chunks. */
async function* eventsOf(flags: { file?: string; data?: string }): AsyncGenerator<object[]> {
  if ((flags.file === undefined) === (flags.data === undefined))
    throw usageError('give --file or --data (one of them)');
  if (flags.data !== undefined) {
    let value: unknown;
    try {
      value = JSON.parse(flags.data);
    } catch (e) {
      throw new FerryError(ErrorCode.STREAM_EVENT_INVALID, `--data is not JSON: ${(e as Error).message}`);
    }
    yield (Array.isArray(value) ? value : [value]) as object[];
    return;
  }
  const lines = createInterface({
    input: createReadStream(flags.file!),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let chunk: object[] = [];
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      try {
        chunk.push(JSON.parse(text) as object);
      } catch (e) {
        throw new FerryError(
          ErrorCode.STREAM_EVENT_INVALID,
          `${flags.file}:${line}: not JSON: ${(e as Error).message}`,
          {
            details: { line },
          },
        );
      }
      if (chunk.length >= PUBLISH_CHUNK) {
        yield chunk;
        chunk = [];
      }
    }
  } catch (e) {
    if (e instanceof FerryError) throw e;
    throw new FerryError(
      ErrorCode.STREAM_EVENT_INVALID,
      `cannot read ${flags.file}: ${(e as Error).message}`,
    );
  }
  if (chunk.length > 0) yield chunk;
}

function iso(ms: number | undefined | null): string {
  return ms === undefined || ms === null ? '-' : new Date(ms).toISOString();
}

export function registerStreamCommand(program: Command): void {
  const stream = program
    .command('stream')
    .description('stream processing: run a pipeline, publish events, see lag and dead letters');

  stream
    .command('run <pipeline>')
    .description('run a stream pipeline of the feature repository until SIGINT/SIGTERM')
    .option(
      '--features-file <path>',
      'the definition file (default: FERRY_FEATURES_FILE, or features.json/.ts/.mjs)',
    )
    .option(
      '--instance <i>',
      'this process takes the partitions p with p % n = i (with --of)',
      parseIntOption,
    )
    .option('--of <n>', 'how many processes share the pipeline', parseIntOption)
    .option('--batch-size <n>', 'events per fetch and transaction', parseIntOption, 1000)
    .option(
      '--ack-wait <ms>',
      'redeliver an event not acked within this (after a crash: how soon)',
      parseIntOption,
      30_000,
    )
    .action(
      async (
        name: string,
        flags: { featuresFile?: string; instance?: number; of?: number; batchSize: number; ackWait: number },
      ) => {
        if (flags.batchSize < 1) throw usageError('--batch-size must be at least 1');
        const { repo } = await loadRepoFile(flags.featuresFile);
        const plan = planPipeline(repo, name);
        const log = processLogger();
        const config = loadConfig();
        const ctx = await openPipelineContext(config, plan, log);
        let handle: Awaited<ReturnType<typeof runPipeline>>;
        try {
          handle = await runPipeline(plan, ctx.deps, {
            batchSize: flags.batchSize,
            ackWaitMs: Math.max(1, flags.ackWait),
            maxEventBytes: readSetting(process.env, 'FERRY_STREAM_MAX_EVENT_BYTES'),
            ...(flags.instance === undefined ? {} : { instance: flags.instance }),
            ...(flags.of === undefined ? {} : { of: flags.of }),
          });
        } catch (e) {
          await ctx.close().catch(() => {});
          throw e;
        }
        log.info(
          { pipeline: name, stream: plan.stream, views: plan.views.map((v) => v.name) },
          'pipeline started',
        );
        const stop = (signal: string) => {
          log.info({ signal }, 'stopping the pipeline');
          void handle.stop();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
        await handle.done;
        await ctx.close();
        log.info({ pipeline: name, ...handle.metrics() }, 'pipeline stopped');
      },
    );

  stream
    .command('publish <stream>')
    .description('publish JSON events (each with an "id" and its entity key field) to a stream')
    .option('--file <path>', 'a JSON-lines file of events')
    .option('--data <json>', 'one event (a JSON object) or a JSON list of events')
    .option(
      '--key-field <fields>',
      "the events' entity key field(s), comma-separated (default: from the feature repository)",
    )
    .option('--features-file <path>', 'the definition file the key field is read from')
    .option('--json', 'JSON output', false)
    .action(
      async (
        name: string,
        flags: { file?: string; data?: string; keyField?: string; featuresFile?: string; json: boolean },
      ) => {
        const { keyField, timeField, idField } = await resolveKeyFields(name, flags);
        await withTransport(async (transport) => {
          const producer = createProducer(transport, {
            keyField,
            ...(idField === undefined ? {} : { idField }),
            ...(timeField === undefined ? {} : { timeField }),
            maxEventBytes: readSetting(process.env, 'FERRY_STREAM_MAX_EVENT_BYTES'),
          });
          let published = 0;
          let duplicates = 0;
          for await (const chunk of eventsOf(flags)) {
            try {
              const r = await producer.publish(name, chunk);
              published += r.published;
              duplicates += r.duplicates;
            } catch (e) {
              if (published + duplicates > 0 && e instanceof FerryError) {
                throw new FerryError(
                  e.code,
                  `${e.message} (${published + duplicates} events before it were published)`,
                  {
                    details: { ...e.details, published, duplicates },
                  },
                );
              }
              throw e;
            }
          }
          if (flags.json) return printJson({ stream: name, published, duplicates });
          process.stdout.write(
            `published ${published} event(s) to ${name}${duplicates ? ` (${duplicates} duplicate(s) not stored again)` : ''}\n`,
          );
        });
      },
    );

  stream
    .command('status <stream>')
    .description(
      "the stream's events and consumers (lag), and each pipeline reading it: watermarks, counts, rates",
    )
    .option('--json', 'JSON output', false)
    .action(async (name: string, flags: { json: boolean }) => {
      const config = loadConfig();
      const transport = await withTransport((s) => s.status(name));
      const sql = openSqlClient(config.db);
      try {
        await sql.init();
        const store = new PipelineStateStore(sql);
        await store.init();
        const pipelines = [];
        for (const pipeline of await store.pipelinesOfStream(name)) {
          const partitions = await store.allPartitions(pipeline);
          const instances = await store.instances(pipeline);
          pipelines.push({ pipeline, partitions, instances });
        }
        if (flags.json) return printJson({ stream: transport, pipelines });
        const out: string[] = [
          `stream ${transport.name}: ${transport.partitions} partitions, ${transport.events} events (sequences ${transport.firstSequence}..${transport.lastSequence}), ${transport.deadLetters} dead letters`,
        ];
        for (const c of transport.consumers) {
          out.push(
            `  consumer ${c.name}: lag ${c.pending}, in flight ${c.inFlight}, delivered up to ${c.deliveredSequence}`,
          );
        }
        for (const p of pipelines) {
          out.push(`pipeline ${p.pipeline}:`);
          for (const part of p.partitions) {
            out.push(
              `  partition ${part.part}: newest event ${iso(part.maxEventMs)}, processed ${part.processed}, late ${part.late}, dead-lettered ${part.deadLettered}, duplicates ${part.duplicates}`,
            );
          }
          for (const i of p.instances) {
            const s = i.stats as {
              eventsPerSecond?: number;
              latencyMs?: { p50?: number; p99?: number };
              stopped?: boolean;
              partitions?: number[];
            };
            const age = Math.round((Date.now() - i.heartbeatAtMs) / 1000);
            out.push(
              `  instance ${i.instance}${s.stopped ? ' (stopped)' : ''}: partitions ${JSON.stringify(s.partitions ?? [])}, ${Math.round(s.eventsPerSecond ?? 0)} events/s, event→sink p50 ${fmtMs(s.latencyMs?.p50)} p99 ${fmtMs(s.latencyMs?.p99)}, heartbeat ${age}s ago`,
            );
          }
        }
        process.stdout.write(`${out.join('\n')}\n`);
      } finally {
        await sql.close();
      }
    });

  stream
    .command('dead-letters <stream>')
    .description('the newest dead letters of a stream, with their reasons')
    .option('--limit <n>', 'how many', parseIntOption, 20)
    .option('--json', 'JSON output', false)
    .action(async (name: string, flags: { limit: number; json: boolean }) => {
      const letters = await withTransport((s) => s.deadLetters(name, Math.max(1, flags.limit)));
      const decoder = new TextDecoder();
      const rows = letters.map((d) => ({
        id: d.id,
        key: d.key,
        sequence: d.sequence ?? null,
        at: iso(d.atMs),
        reason: d.reason,
        data: decoder.decode(d.data.subarray(0, 2000)),
      }));
      if (flags.json) return printJson(rows);
      if (rows.length === 0) return void process.stdout.write(`no dead letters in ${name}\n`);
      for (const r of rows) {
        process.stdout.write(
          `${r.at}  #${r.sequence ?? '-'}  id ${r.id}  key ${r.key}\n  reason: ${r.reason}\n  data: ${r.data.length > 200 ? `${r.data.slice(0, 200)}…` : r.data}\n`,
        );
      }
    });
}

function fmtMs(ms: number | undefined): string {
  return ms === undefined ? '-' : `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
}
