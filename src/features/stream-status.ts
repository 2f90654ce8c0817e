import { ErrorCode, FerryError } from '../core/errors.js';
import type { EventStream, StreamStatus } from '../ports/event-stream.js';
import type { FeatureRepoDef } from './feature-definitions.js';

/** A pipeline's progress as its state store keeps it (see streams/pipeline-state-store.ts). */
export interface PipelineProgress {
  /** The newest event time accepted, over its partitions; null before the first. */
  readonly newestEventMs: number | null;
  readonly processed: number;
  readonly late: number;
  readonly deadLettered: number;
  /** Running (or last seen) processes, with their last heartbeat (their ids name hosts: left out). */
  readonly instances: ReadonlyArray<{
    readonly partitions: readonly number[];
    readonly heartbeatAtMs: number;
    readonly eventsPerSecond: number | null;
    readonly stopped: boolean;
  }>;
}

export interface StreamStatusSources {
  readonly transport: () => Promise<EventStream>;
  /** Pipelines that left state for the stream (they ran), by name. */
  readonly pipelinesOfStream: (stream: string) => Promise<readonly string[]>;
  readonly pipelineProgress: (pipeline: string) => Promise<PipelineProgress>;
}

/** One reader of a stream: a durable consumer of the transport, and the pipeline of its name if any. */
export interface StreamReaderStatus {
  readonly name: string;
  /** Whether the transport has a consumer of this name (false: the pipeline never fetched). */
  readonly consumer: boolean;
  /** Events not yet acked by the consumer; for a pipeline that never ran: every event of the stream. */
  readonly lagEvents: number;
  readonly inFlight: number;
  readonly deliveredSequence: number | null;
  readonly pipeline: {
    readonly newestEventMs: number | null;
    /** Now − the newest event time it accepted while events wait (0 when caught up); null before the first. */
    readonly lagSeconds: number | null;
    readonly processed: number;
    readonly late: number;
    readonly deadLettered: number;
    readonly instances: ReadonlyArray<{
      readonly partitions: readonly number[];
      readonly heartbeatAgeSeconds: number;
      readonly eventsPerSecond: number | null;
      readonly stopped: boolean;
    }>;
  } | null;
}

export interface DeadLetterView {
  readonly id: string;
  readonly key: string;
  readonly sequence: number | null;
  readonly consumer: string | null;
  readonly atMs: number;
  readonly reason: string;
  /** The payload as text (UTF-8, invalid bytes replaced), cut to `payloadChars`. */
  readonly payload: string;
  readonly payloadBytes: number;
  readonly payloadTruncated: boolean;
}

export interface StreamStatusView {
  readonly name: string;
  /** Whether the transport holds the stream (false: a source names it, nothing was published). */
  readonly exists: boolean;
  /** Stream sources of the applied repository reading it. */
  readonly sources: readonly string[];
  readonly partitions: number;
  readonly events: number;
  readonly lastSequence: number;
  readonly deadLetters: number;
  readonly readers: readonly StreamReaderStatus[];
  /** The newest dead letters first. */
  readonly recentDeadLetters: readonly DeadLetterView[];
}

export interface StreamStatusOptions {
  /** Dead letters shown per stream (newest first). */
  readonly deadLetterLimit: number;
  /** Characters of each dead letter's payload kept. */
  readonly payloadChars: number;
  /** Characters of each dead letter's reason, id and key kept. */
  readonly textChars?: number;
  readonly nowMs: number;
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * The streams a server knows (`GET /v1/streams/status`): those the applied stream sources read and
 * those the transport holds, each with its readers' lag (events and seconds) and its newest dead
 * letters with their reasons. FERRY_STREAM_NOT_FOUND (404) when there is none at all.
 */
export async function streamsStatus(
  repo: FeatureRepoDef,
  sources: StreamStatusSources,
  opts: StreamStatusOptions,
): Promise<StreamStatusView[]> {
  const transport = await sources.transport();
  const bySource = new Map<string, string[]>();
  for (const s of repo.sources) {
    if (s.kind !== 'stream') continue;
    bySource.set(s.stream, [...(bySource.get(s.stream) ?? []), s.name]);
  }
  const names = [...new Set([...bySource.keys(), ...(await transport.listStreams())])].sort();
  if (names.length === 0) {
    throw new FerryError(
      ErrorCode.STREAM_NONE,
      'no streams: no stream source is applied and the stream transport holds no stream',
    );
  }
  const textChars = opts.textChars ?? 500;
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const out: StreamStatusView[] = [];
  for (const name of names) {
    let status: StreamStatus | undefined;
    try {
      status = await transport.status(name);
    } catch (e) {
      if (!(e instanceof FerryError && e.code === ErrorCode.STREAM_NOT_FOUND)) throw e;
    }
    const repoPipelines = (repo.pipelines ?? [])
      .filter((p) => bySource.get(name)?.includes(p.source))
      .map((p) => p.name);
    const pipelineNames = new Set([...repoPipelines, ...(await sources.pipelinesOfStream(name))]);
    const consumers = new Map((status?.consumers ?? []).map((c) => [c.name, c]));
    const readers: StreamReaderStatus[] = [];
    for (const readerName of [...new Set([...consumers.keys(), ...pipelineNames])].sort()) {
      const c = consumers.get(readerName);
      const lagEvents = c?.pending ?? status?.events ?? 0;
      let pipeline: StreamReaderStatus['pipeline'] = null;
      if (pipelineNames.has(readerName)) {
        const p = await sources.pipelineProgress(readerName);
        pipeline = {
          newestEventMs: p.newestEventMs,
          lagSeconds:
            p.newestEventMs === null
              ? null
              : lagEvents === 0
                ? 0
                : Math.max(0, (opts.nowMs - p.newestEventMs) / 1000),
          processed: p.processed,
          late: p.late,
          deadLettered: p.deadLettered,
          instances: p.instances.map((i) => ({
            partitions: i.partitions,
            heartbeatAgeSeconds: Math.max(0, (opts.nowMs - i.heartbeatAtMs) / 1000),
            eventsPerSecond: i.eventsPerSecond,
            stopped: i.stopped,
          })),
        };
      }
      readers.push({
        name: readerName,
        consumer: c !== undefined,
        lagEvents,
        inFlight: c?.inFlight ?? 0,
        deliveredSequence: c?.deliveredSequence ?? null,
        pipeline,
      });
    }
    const letters =
      status === undefined || status.deadLetters === 0 || opts.deadLetterLimit === 0
        ? []
        : await transport.deadLetters(name, opts.deadLetterLimit);
    out.push({
      name,
      exists: status !== undefined,
      sources: bySource.get(name) ?? [],
      partitions: status?.partitions ?? 0,
      events: status?.events ?? 0,
      lastSequence: status?.lastSequence ?? 0,
      deadLetters: status?.deadLetters ?? 0,
      readers,
      recentDeadLetters: letters.map((d) => {
        // Decoding a prefix: a cut multi-byte character becomes one U+FFFD at the end, never an error.
        const text = decoder.decode(d.data.subarray(0, opts.payloadChars * 4));
        return {
          id: cut(d.id, textChars),
          key: cut(d.key, textChars),
          sequence: d.sequence ?? null,
          consumer: d.consumer ?? null,
          atMs: d.atMs,
          reason: cut(d.reason, textChars),
          payload: text.length > opts.payloadChars ? text.slice(0, opts.payloadChars) : text,
          payloadBytes: d.data.byteLength,
          payloadTruncated: text.length > opts.payloadChars || d.data.byteLength > opts.payloadChars * 4,
        };
      }),
    });
  }
  return out;
}
