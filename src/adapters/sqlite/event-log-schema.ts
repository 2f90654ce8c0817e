import { defineSchema } from '../../core/migrations.js';

/**
 * The embedded stream log's tables (SQLite only: the log lives in its own file, `FERRY_STREAM_URL`
 * `sqlite:<path>`). Sequences of a stream are contiguous from its first stored event to
 * `last_seq`: events are only ever removed from the front (retention), which lets a start time
 * be found by binary search over sequences instead of an index on time.
 *
 * - `ferry_streams`: one row per stream, its settings and the last sequence handed out.
 * - `ferry_stream_events`: the log; `(stream, partition, seq)` serves a consumer's next events.
 * - `ferry_stream_ids`: publish dedupe, one row per event id, pruned after the window.
 * - `ferry_stream_cursors`: per (stream, consumer, partition) the last sequence delivered.
 *   Everything at or below it that is not in flight was acked (or dead-lettered).
 * - `ferry_stream_inflight`: delivered, not yet acked: delivery count and redelivery deadline.
 * - `ferry_stream_dead_letters`: events taken out of processing, newest = highest `dl`.
 */
export const EVENT_LOG_SCHEMA = defineSchema('event-log', [
  {
    version: 1,
    description:
      'stream log: streams, events, dedupe ids, consumer cursors, in-flight deliveries, dead letters',
    statements: {
      sqlite: [
        `CREATE TABLE IF NOT EXISTS ferry_streams (
          name TEXT PRIMARY KEY,
          partitions INTEGER NOT NULL,
          max_age_ms INTEGER NOT NULL,
          duplicate_window_ms INTEGER NOT NULL,
          max_event_bytes INTEGER NOT NULL,
          last_seq INTEGER NOT NULL DEFAULT 0,
          last_published_at INTEGER NOT NULL DEFAULT 0,
          created_at INTEGER NOT NULL
        )`,
        `CREATE TABLE IF NOT EXISTS ferry_stream_events (
          stream TEXT NOT NULL,
          seq INTEGER NOT NULL,
          partition INTEGER NOT NULL,
          id TEXT NOT NULL,
          key TEXT NOT NULL,
          data BLOB NOT NULL,
          published_at INTEGER NOT NULL,
          PRIMARY KEY (stream, seq)
        )`,
        'CREATE INDEX IF NOT EXISTS ferry_stream_events_by_partition ON ferry_stream_events (stream, partition, seq)',
        `CREATE TABLE IF NOT EXISTS ferry_stream_ids (
          stream TEXT NOT NULL,
          id TEXT NOT NULL,
          seq INTEGER NOT NULL,
          published_at INTEGER NOT NULL,
          PRIMARY KEY (stream, id)
        )`,
        'CREATE INDEX IF NOT EXISTS ferry_stream_ids_by_time ON ferry_stream_ids (stream, published_at)',
        `CREATE TABLE IF NOT EXISTS ferry_stream_cursors (
          stream TEXT NOT NULL,
          consumer TEXT NOT NULL,
          partition INTEGER NOT NULL,
          delivered_seq INTEGER NOT NULL,
          ack_wait_ms INTEGER NOT NULL,
          max_deliveries INTEGER NOT NULL,
          created_at INTEGER NOT NULL,
          PRIMARY KEY (stream, consumer, partition)
        )`,
        `CREATE TABLE IF NOT EXISTS ferry_stream_inflight (
          stream TEXT NOT NULL,
          consumer TEXT NOT NULL,
          seq INTEGER NOT NULL,
          partition INTEGER NOT NULL,
          delivery_count INTEGER NOT NULL,
          deadline INTEGER NOT NULL,
          PRIMARY KEY (stream, consumer, seq)
        )`,
        'CREATE INDEX IF NOT EXISTS ferry_stream_inflight_by_deadline ON ferry_stream_inflight (stream, consumer, deadline)',
        `CREATE TABLE IF NOT EXISTS ferry_stream_dead_letters (
          dl INTEGER PRIMARY KEY AUTOINCREMENT,
          stream TEXT NOT NULL,
          consumer TEXT,
          seq INTEGER,
          id TEXT NOT NULL,
          key TEXT NOT NULL,
          data BLOB NOT NULL,
          reason TEXT NOT NULL,
          at_ms INTEGER NOT NULL
        )`,
        'CREATE INDEX IF NOT EXISTS ferry_stream_dead_letters_by_stream ON ferry_stream_dead_letters (stream, dl)',
      ],
      // Never run on PostgreSQL: the embedded log is SQLite by definition.
      postgres: [],
    },
  },
]);
