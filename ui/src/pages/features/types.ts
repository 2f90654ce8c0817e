/** The answers of GET /v1/features/status and GET /v1/streams/status (see feature-status-routes.ts). */

export interface FeatureViewStatus {
  name: string;
  entities: string[];
  source: { name: string; kind: string };
  transform: string;
  online: boolean;
  ttl_seconds: number | null;
  features: number;
  last_event_time: string | null;
  freshness_seconds: number | null;
  stale: boolean;
  last_materialization: {
    mode: string;
    status: string;
    started_at: string;
    finished_at: string | null;
    rows: number;
    written: number;
    bad: number;
  } | null;
  pipelines: string[];
}

export interface FeaturesStatus {
  now: string;
  views: FeatureViewStatus[];
}

export interface StreamReader {
  name: string;
  consumer: boolean;
  lag_events: number;
  in_flight: number;
  delivered_sequence: number | null;
  pipeline: {
    last_event_time: string | null;
    lag_seconds: number | null;
    processed: number;
    late: number;
    dead_lettered: number;
    instances: Array<{
      partitions: number[];
      heartbeat_age_seconds: number;
      events_per_second: number | null;
      stopped: boolean;
    }>;
  } | null;
}

export interface DeadLetter {
  id: string;
  key: string;
  sequence: number | null;
  consumer: string | null;
  at: string;
  reason: string;
  payload: string;
  payload_bytes: number;
  payload_truncated: boolean;
}

export interface StreamStatus {
  name: string;
  exists: boolean;
  sources: string[];
  partitions: number;
  events: number;
  last_sequence: number;
  dead_letters: number;
  readers: StreamReader[];
  recent_dead_letters: DeadLetter[];
}

export interface StreamsStatus {
  now: string;
  streams: StreamStatus[];
}
