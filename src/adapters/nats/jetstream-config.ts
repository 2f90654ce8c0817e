import type { ConsumerConfig, StreamConfig, StreamInfo } from '@nats-io/jetstream';
import {
  invalidStream,
  type ResolvedConsumerOptions,
  type ResolvedStreamConfig,
} from '../event-stream-rules.js';
import { jsName, nanos } from './jetstream-names.js';

/* The JetStream configurations of Ferry's streams, dead-letter streams and consumers. */

/** Stream settings Ferry needs and JetStream has no field for, kept in the stream's description. */
const META_PREFIX = 'ferry-stream ';
/** Room for Ferry's headers on top of an event's payload, in the server's max_msg_size. */
const HEADER_ALLOWANCE = 4096;
/** Deliveries past maxDeliveries the server still makes, so a failed move to the DLQ is retried. */
const SPARE_DELIVERIES = 2;
const MAX_INT32 = 2 ** 31 - 1;

export function streamConfig(c: ResolvedStreamConfig): Partial<StreamConfig> & { name: string } {
  return {
    name: jsName.stream(c.name),
    subjects: [jsName.subjects(c.name)],
    retention: 'limits',
    storage: 'file',
    discard: 'old',
    max_age: nanos(c.maxAgeMs),
    duplicate_window: nanos(c.duplicateWindowMs),
    max_msg_size: Math.min(c.maxEventBytes + HEADER_ALLOWANCE, MAX_INT32),
    num_replicas: 1,
    description: META_PREFIX + JSON.stringify({ partitions: c.partitions, maxEventBytes: c.maxEventBytes }),
  };
}

/** Dead letters keep the stream's retention and dedupe window. */
export function deadLetterStreamConfig(c: ResolvedStreamConfig): Partial<StreamConfig> & {
  name: string;
  max_age: number;
  duplicate_window: number;
} {
  return {
    name: jsName.dlq(c.name),
    subjects: [jsName.dlqSubject(c.name)],
    retention: 'limits',
    storage: 'file',
    discard: 'old',
    max_age: nanos(c.maxAgeMs),
    duplicate_window: nanos(c.duplicateWindowMs),
    num_replicas: 1,
    description: `dead letters of Ferry stream ${c.name}`,
  };
}

/** The durable pull consumer of one partition (`max_deliver` leaves spare deliveries, see the adapter). */
export function durableConfig(
  stream: string,
  opts: ResolvedConsumerOptions,
  partition: number,
): Partial<ConsumerConfig> & { ack_wait: number; max_deliver: number } {
  const start = opts.startAt;
  return {
    durable_name: jsName.durable(opts.name, partition),
    filter_subject: jsName.subject(stream, partition),
    ack_policy: 'explicit',
    ack_wait: nanos(opts.ackWaitMs),
    max_deliver: opts.maxDeliveries + SPARE_DELIVERIES,
    replay_policy: 'instant',
    ...(start === undefined
      ? { deliver_policy: 'all' as const }
      : 'sequence' in start
        ? { deliver_policy: 'by_start_sequence' as const, opt_start_seq: start.sequence }
        : { deliver_policy: 'by_start_time' as const, opt_start_time: new Date(start.timeMs).toISOString() }),
  };
}

/** A Ferry stream's settings from its JetStream stream; one not made by Ferry is refused. */
export function metaOf(stream: string, info: StreamInfo): ResolvedStreamConfig {
  const description = info.config.description ?? '';
  let parsed: { partitions?: unknown; maxEventBytes?: unknown } = {};
  if (description.startsWith(META_PREFIX)) {
    try {
      parsed = JSON.parse(description.slice(META_PREFIX.length)) as typeof parsed;
    } catch {
      parsed = {};
    }
  }
  const { partitions, maxEventBytes } = parsed;
  if (typeof partitions !== 'number' || typeof maxEventBytes !== 'number') {
    throw invalidStream(
      `the JetStream stream ${jsName.stream(stream)} was not made by Ferry (no settings in its description)`,
      { stream },
    );
  }
  return {
    name: stream,
    partitions,
    maxEventBytes,
    maxAgeMs: Math.round(info.config.max_age / 1_000_000),
    duplicateWindowMs: Math.round((info.config.duplicate_window ?? 0) / 1_000_000),
  };
}
