import { isFerryError } from '../../core/errors.js';
import type { FeedbackSource, LabeledPrediction } from '../../monitoring/feedback-types.js';
import type { EventStream } from '../../ports/event-stream.js';
import { isTextLogItem } from '../../ports/prediction-log-sink.js';
import { type LabeledEvent, parseLabeledEvent, publishLabeledEvents } from './labeled-event.js';

/**
 * How far back each poll looks again: a label is published once its prediction's log row is there,
 * which is usually a second after it arrives (the log's flush); looking back this far catches late
 * rows, and stays inside the transport's publish dedupe window (2 minutes by default), so a label
 * seen by two polls is stored once. A label whose row comes later still is caught at the next start.
 */
const LOOK_BACK_MS = 110_000;
/** Events per publish call. */
const PUBLISH_BATCH = 500;

export interface FeedbackBridgeOptions {
  readonly model: string;
  /** The learner's stream (labeled-event.ts). */
  readonly streamName: string;
  readonly feedback: FeedbackSource;
  readonly stream: EventStream;
  readonly now?: () => Date;
}

export interface BridgeRound {
  /** Labels published (a label published again by an overlapping poll counts again). */
  readonly published: number;
  /** Matched labels that cannot be learned from text: tensor predictions, entity-id labels. */
  readonly skipped: number;
  /** Labels whose prediction is not in the log yet. */
  readonly unmatched: number;
}

/** The event id of a label: the same label always gets the same id, so the learner learns it once. */
function feedbackEventId(p: LabeledPrediction): string {
  return p.entityId !== undefined ? `fb:e:${p.entityId}:${p.item}` : `fb:r:${p.requestId}:${p.item}`;
}

/** The label as a learner's event, or undefined when it cannot be one (no text, or text the checks refuse). */
function eventOf(model: string, p: LabeledPrediction): LabeledEvent | undefined {
  if (p.entityId !== undefined || !isTextLogItem(p.logged)) return undefined;
  const event = { model, title: p.logged.title, description: p.logged.description, label: p.label, at: p.at };
  try {
    // The publisher's own checks, run here so one bad label is skipped instead of failing its batch.
    return parseLabeledEvent(new TextEncoder().encode(JSON.stringify(event)));
  } catch (e) {
    if (isFerryError(e)) return undefined;
    throw e;
  }
}

/**
 * The feedback table as the online learner's stream: `ferry learn --from-feedback` polls the labels
 * that POST /v1/feedback and `ferry feedback import` stored, joins them to the logged text, and
 * publishes them as labeled events. The first poll publishes every stored label (the learner skips
 * the ids it already learned, so a restart loses nothing and learns nothing twice); later polls
 * look back LOOK_BACK_MS from the previous one.
 */
export class FeedbackBridge {
  private lastPollAt: Date | undefined;

  constructor(private readonly opts: FeedbackBridgeOptions) {}

  async poll(): Promise<BridgeRound> {
    const now = this.opts.now?.() ?? new Date();
    const since =
      this.lastPollAt === undefined
        ? undefined
        : new Date(this.lastPollAt.getTime() - LOOK_BACK_MS).toISOString();
    const window = await this.opts.feedback.labeled(this.opts.model, since === undefined ? {} : { since });
    const events: Array<{ id: string; event: LabeledEvent }> = [];
    let skipped = 0;
    for (const p of window.matched) {
      const event = eventOf(this.opts.model, p);
      if (event === undefined) skipped++;
      else events.push({ id: feedbackEventId(p), event });
    }
    // Oldest first, so the learner sees labels in the order the predictions were made.
    events.sort((a, b) => a.event.at.localeCompare(b.event.at) || a.id.localeCompare(b.id));
    for (let i = 0; i < events.length; i += PUBLISH_BATCH) {
      await publishLabeledEvents(this.opts.stream, this.opts.streamName, events.slice(i, i + PUBLISH_BATCH));
    }
    this.lastPollAt = now;
    return { published: events.length, skipped, unmatched: window.unmatched };
  }
}
