import { openEventStream } from '../adapters/factory.js';
import type { FerryConfig } from '../core/config.js';
import { FeedbackBridge } from '../learning/online/feedback-bridge.js';
import { type LearnerLog, OnlineLearner, readLearnerStatus } from '../learning/online/learner.js';
import { DEFAULT_LEARNER_STREAM, type LearnerSettings } from '../learning/online/learner-settings.js';
import { kindContextOf } from '../registry/load-model.js';
import { Closers } from './lifecycle.js';
import { openFeedbackStore } from './open-feedback.js';
import { openFerry } from './open-ferry.js';
import { streamUrlOf } from './open-streams.js';

export interface LearnerContext {
  readonly learner: OnlineLearner;
  /** With `fromFeedback`: the feedback table published to the learner's stream (poll it). */
  readonly bridge?: FeedbackBridge;
  close(): Promise<void>;
}

/**
 * An online learner from the settings: its checkpoints and the registry in the Ferry database
 * (FERRY_DB, FERRY_ARTIFACTS), the labels from the stream transport (FERRY_STREAM_URL: NATS
 * JetStream, or the embedded log by default). Initialised: checkpoint restored, consumer open.
 */
export async function openLearner(
  config: FerryConfig,
  settings: LearnerSettings,
  log: LearnerLog,
  env: NodeJS.ProcessEnv = process.env,
  opts: { readonly fromFeedback?: boolean } = {},
): Promise<LearnerContext> {
  const closers = new Closers();
  try {
    const ferry = await openFerry(config);
    closers.add('the Ferry database', () => ferry.close());
    const stream = openEventStream(streamUrlOf(config, env));
    closers.add('the stream transport', () => stream.close());
    const learner = new OnlineLearner(settings, {
      stream,
      sql: ferry.sql,
      registry: ferry.registry,
      kindContext: kindContextOf(config),
      log,
    });
    await learner.init();
    const bridge = opts.fromFeedback
      ? new FeedbackBridge({
          model: settings.model,
          streamName: settings.stream ?? DEFAULT_LEARNER_STREAM,
          feedback: await openFeedbackStore(ferry),
          stream,
        })
      : undefined;
    return { learner, ...(bridge ? { bridge } : {}), close: () => closers.close() };
  } catch (e) {
    await closers.close().catch(() => {});
    throw e;
  }
}

/** `ferry learn status`: the stored learner's figures, decisions and the model's aliases. */
export async function learnerStatus(config: FerryConfig, model: string) {
  const ferry = await openFerry(config);
  try {
    const stored = await readLearnerStatus(ferry.sql, model);
    if (stored === undefined) return undefined;
    const aliases = await ferry.registry.aliases(model).catch(() => ({}));
    return { ...stored, aliases };
  } finally {
    await ferry.close();
  }
}
