import { join } from 'node:path';
import { openEventStream } from '../adapters/factory.js';
import type { FerryConfig } from '../core/config.js';
import { onFirstUse } from '../core/on-first-use.js';
import { FeatureRepoStore } from '../features/feature-repo-store.js';
import { joinKeysOf } from '../features/row-transform.js';
import type { PipelineProgress } from '../features/stream-status.js';
import type { EventStream } from '../ports/event-stream.js';
import { FeatureAccess } from '../serving/feature-access.js';
import type { ServerContext } from '../serving/http/server-context.js';
import type { ServingConfig } from '../serving/serving-config.js';
import { PipelineStateStore } from '../streams/pipeline-state-store.js';
import { lazyOnlineStore } from './lazy-online-store.js';
import type { Closers } from './lifecycle.js';
import type { FerryContext } from './open-ferry.js';

/**
 * The feature store as the server reads it: the applied definitions in the registry database, the
 * online store from FERRY_ONLINE_STORE (default a table of that database), opened on first use so
 * that the server starts while Redis is down (reads answer 503 FERRY_FEATURES_UNAVAILABLE until it
 * is back). `joinKeys`: those of the service naming the first served model, read once at start.
 */
export async function openServingFeatures(args: {
  ferry: FerryContext;
  sc: ServingConfig;
  closers: Closers;
}): Promise<NonNullable<ServerContext['features']>> {
  const { ferry, sc, closers } = args;
  const repoStore = new FeatureRepoStore({ sql: ferry.sql });
  await repoStore.init();
  const online = lazyOnlineStore(ferry.sql, sc.onlineStore);
  // A table store shares the registry's client, which the database closer closes.
  closers.add('online feature store', () => online.close());
  const access = new FeatureAccess({
    repoStore,
    online: online.get,
  });
  const { repo } = await repoStore.appliedRepo();
  const model = sc.models[0];
  const service = repo.services?.find((s) => s.model === model);
  const joinKeys = new Set<string>();
  for (const entry of service?.features ?? []) {
    const view = repo.views.find((v) => v.name === entry.split(':')[0]);
    if (view !== undefined) for (const k of joinKeysOf(repo, view)) joinKeys.add(k);
  }
  return { access, token: sc.featuresToken, joinKeys: [...joinKeys] };
}

/** The stream transport of FERRY_STREAM_URL (default the embedded log in FERRY_HOME), opened on first publish. */
export function servingStreams(args: {
  config: FerryConfig;
  sc: ServingConfig;
  closers: Closers;
}): NonNullable<ServerContext['streams']> {
  const { config, sc, closers } = args;
  const url = sc.streamUrl ?? defaultStreamUrl(config);
  const transport = onFirstUse(async (): Promise<EventStream> => {
    const t = openEventStream(url);
    try {
      await t.init();
    } catch (e) {
      await t.close().catch(() => {});
      throw e;
    }
    return t;
  });
  closers.add('stream transport', async () => {
    const t = transport.take();
    if (t !== undefined) await (await t.catch(() => undefined))?.close();
  });
  return {
    token: sc.streamsToken,
    maxEventBytes: sc.maxEventBytes,
    transport: () => transport.get(),
  };
}

/** The embedded log beside the registry: `sqlite:$FERRY_HOME/streams.db`. */
export function defaultStreamUrl(config: Pick<FerryConfig, 'home'>): string {
  return `sqlite:${join(config.home, 'streams.db')}`;
}

/**
 * What GET /v1/features/status and GET /v1/streams/status read: the repository's materialization
 * tables, the pipelines' state (the tables `ferry stream run` keeps in the Ferry database, created
 * on first use) and the stream transport of `streams`.
 */
export function servingFeatureStatus(args: {
  ferry: FerryContext;
  streams: NonNullable<ServerContext['streams']>;
}): NonNullable<NonNullable<ServerContext['features']>['status']> {
  const { ferry, streams } = args;
  const store = onFirstUse(async () => {
    const s = new PipelineStateStore(ferry.sql);
    await s.init();
    return s;
  });
  const pipelines = () => store.get();
  const progress = async (pipeline: string): Promise<PipelineProgress> => {
    const s = await pipelines();
    const parts = await s.allPartitions(pipeline);
    let newest: number | null = null;
    let processed = 0;
    let late = 0;
    let deadLettered = 0;
    for (const p of parts) {
      if (p.maxEventMs !== undefined && (newest === null || p.maxEventMs > newest)) newest = p.maxEventMs;
      processed += p.processed;
      late += p.late;
      deadLettered += p.deadLettered;
    }
    const instances = (await s.instances(pipeline)).map((i) => {
      const stats = (i.stats ?? {}) as { eventsPerSecond?: unknown; stopped?: unknown; partitions?: unknown };
      return {
        partitions: Array.isArray(stats.partitions)
          ? stats.partitions.filter((p): p is number => typeof p === 'number')
          : [],
        heartbeatAtMs: i.heartbeatAtMs,
        eventsPerSecond: typeof stats.eventsPerSecond === 'number' ? stats.eventsPerSecond : null,
        stopped: stats.stopped === true,
      };
    });
    return { newestEventMs: newest, processed, late, deadLettered, instances };
  };
  return {
    features: {
      sql: ferry.sql,
      pipelineNewestEventMs: async (pipeline) => (await progress(pipeline)).newestEventMs,
    },
    streams: {
      transport: streams.transport,
      pipelinesOfStream: async (stream) => (await pipelines()).pipelinesOfStream(stream),
      pipelineProgress: progress,
    },
  };
}
