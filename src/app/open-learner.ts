import { openEventStream } from '../adapters/factory.js';
import type { FerryConfig } from '../core/config.js';
import { FeedbackBridge } from '../learning/online/feedback-bridge.js';
import {
  type LearnerDeps,
  type LearnerLog,
  OnlineLearner,
  readLearnerStatus,
} from '../learning/online/learner.js';
import { DEFAULT_LEARNER_STREAM, type LearnerSettings } from '../learning/online/learner-settings.js';
import { profileFromLoggedItems, vocabularyOf } from '../monitoring/profile/build-profile.js';
import { kindContextOf } from '../registry/load-model.js';
import { Closers } from './lifecycle.js';
import { openFeedbackStore } from './open-feedback.js';
import { type FerryContext, openFerry } from './open-ferry.js';
import { openProfileStore } from './open-monitoring.js';
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
      onSnapshot: profileSnapshots(ferry, settings.model),
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

/**
 * Each snapshot's reference profile, from the learner's own recent answers: monitoring then compares
 * the traffic a snapshot serves with what the learner saw and answered when it was taken.
 */
export function profileSnapshots(
  ferry: Pick<FerryContext, 'sql'>,
  model: string,
): NonNullable<LearnerDeps['onSnapshot']> {
  let profiles: ReturnType<typeof openProfileStore> | undefined; // migrated once, on the first snapshot
  return async (version, recent) => {
    profiles ??= openProfileStore(ferry).catch((e: unknown) => {
      profiles = undefined; // tried again at the next snapshot
      throw e;
    });
    await (await profiles).put(
      profileFromLoggedItems(recent.items, {
        name: model,
        version,
        labels: recent.labels,
        vocabulary: vocabularyOf(recent.items),
        source: `the online learner's last ${recent.items.length} answers, each given before it learned the label`,
      }),
    );
  };
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
