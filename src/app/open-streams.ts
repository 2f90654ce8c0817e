import { openEventStream, openOnlineStore } from '../adapters/factory.js';
import { SqlOnlineStore } from '../adapters/sql/sql-online-store.js';
import { PredictionStore } from '../batch/prediction-store.js';
import type { FerryConfig } from '../core/config.js';
import { readSetting } from '../core/settings/read-settings.js';
import { initOfflineStore, writeOfflineRows } from '../features/offline-store.js';
import type { EventStream } from '../ports/event-stream.js';
import type { OnlineFeatureStore } from '../ports/online-feature-store.js';
import { kindContextOf } from '../registry/load-model.js';
import type { PipelinePlan } from '../streams/pipeline-plan.js';
import { type ProducerOptions, StreamProducer } from '../streams/producer.js';
import type { PipelineDeps, PipelineLog } from '../streams/run-pipeline.js';
import { Closers } from './lifecycle.js';
import { openFerry } from './open-ferry.js';
import { defaultStreamUrl } from './serving-features.js';

/** FERRY_STREAM_URL, or the embedded log `sqlite:$FERRY_HOME/streams.db`. */
export function streamUrlOf(config: Pick<FerryConfig, 'home'>, env: NodeJS.ProcessEnv = process.env): string {
  return readSetting(env, 'FERRY_STREAM_URL') ?? defaultStreamUrl(config);
}

/** The stream transport of a URL (`sqlite:<path>` or `nats://host:4222`); not initialised. */
export function openStreamTransport(url: string): EventStream {
  return openEventStream(url);
}

/**
 * A producer of JSON events (see streams/producer.ts) over the transport of `url`, or over a
 * transport the caller opened. `close()` closes a transport it opened.
 */
export function createProducer(target: string | EventStream, opts: ProducerOptions = {}): StreamProducer {
  return new StreamProducer(typeof target === 'string' ? openEventStream(target) : target, opts);
}

export interface PipelineContext {
  readonly deps: PipelineDeps;
  close(): Promise<void>;
}

/**
 * What a pipeline needs, from the settings: its state in the Ferry database (FERRY_DB), the
 * transport (FERRY_STREAM_URL), and what its sinks write to: the online store (FERRY_ONLINE_STORE,
 * default a table of the Ferry database), the offline store (the Ferry database), the registry and
 * the prediction store (the Ferry database).
 */
export async function openPipelineContext(
  config: FerryConfig,
  plan: PipelinePlan,
  log: PipelineLog,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PipelineContext> {
  const closers = new Closers();
  try {
    const ferry = await openFerry(config);
    closers.add('the Ferry database', () => ferry.close());
    const { sql } = ferry;
    const stream = openEventStream(streamUrlOf(config, env));
    closers.add('the stream transport', () => stream.close());
    const kinds = new Set(plan.sinks.map((s) => s.kind));
    let online: OnlineFeatureStore | undefined;
    if (kinds.has('online')) {
      const url = readSetting(env, 'FERRY_ONLINE_STORE');
      const store = url === undefined ? new SqlOnlineStore({ sql }) : openOnlineStore(url);
      closers.add('the online store', () => store.close());
      await store.init();
      online = store;
    }
    let offline: PipelineDeps['offline'];
    if (kinds.has('offline')) {
      await initOfflineStore(sql);
      offline = {
        write: async (rows) => {
          await writeOfflineRows(sql, rows);
        },
      };
    }
    let predictions: PipelineDeps['predictions'];
    if (kinds.has('predictions')) {
      const store = new PredictionStore({ sql });
      await store.init();
      predictions = { registry: ferry.registry, store, kindContext: kindContextOf(config) };
    }
    return {
      deps: { stream, sql, online, offline, predictions, log },
      close: () => closers.close(),
    };
  } catch (e) {
    await closers.close().catch(() => {});
    throw e;
  }
}
