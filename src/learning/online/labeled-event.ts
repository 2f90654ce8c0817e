import { ErrorCode, FerryError } from '../../core/errors.js';
import { textInputProblem } from '../../model/validate-input.js';
import type { EventStream, EventToPublish, PublishAck } from '../../ports/event-stream.js';
import { isValidModelName } from '../../registry/model-ref.js';

/**
 * The one format of a labeled example on the stream the online learner reads (default `feedback`):
 * the event's data is the UTF-8 JSON of
 *
 *   {"model": "<registry model name>", "title": "...", "description": "...",
 *    "label": "<true class>", "at": "<ISO 8601 time the label was known>"}
 *
 * The event id (the transport's, set by the producer) identifies the label: the learner learns each
 * id once, so a producer that retries must reuse the id. The key is the model name, so one model's
 * labels share a partition and are learned in publish order. Unknown fields are ignored (a producer
 * may add its own); `description` may be "" but title and description together need a letter or a
 * digit (the rule every predicting path applies).
 */
export interface LabeledEvent {
  readonly model: string;
  readonly title: string;
  readonly description: string;
  readonly label: string;
  readonly at: string;
}

const MAX_LABEL_LENGTH = 256;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function invalid(why: string): FerryError {
  return new FerryError(ErrorCode.LEARNER_INVALID, `labeled event: ${why}`);
}

/** Why `value` is not a labeled event (FERRY_LEARNER_INVALID), or the event. */
function checkLabeledEvent(value: unknown): LabeledEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('not a JSON object');
  const field = (name: string): unknown =>
    Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined;
  const model = field('model');
  const title = field('title');
  const description = field('description') ?? '';
  const label = field('label');
  const at = field('at');
  if (typeof model !== 'string' || !isValidModelName(model)) throw invalid('"model" must be a model name');
  if (typeof title !== 'string' || typeof description !== 'string')
    throw invalid('"title" and "description" must be strings');
  const problem = textInputProblem(title, description);
  if (problem !== undefined) throw invalid(problem);
  if (
    typeof label !== 'string' ||
    label.trim() === '' ||
    label.length > MAX_LABEL_LENGTH ||
    label.includes('\u0000')
  )
    throw invalid(`"label" must be a text of 1 to ${MAX_LABEL_LENGTH} characters`);
  if (typeof at !== 'string' || !ISO_8601.test(at) || Number.isNaN(Date.parse(at)))
    throw invalid('"at" must be an ISO 8601 time with a zone, e.g. 2026-01-31T12:00:00Z');
  return { model, title, description, label, at };
}

/** Decodes an event's data (UTF-8 JSON) and checks it. */
export function parseLabeledEvent(data: Uint8Array): LabeledEvent {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    throw invalid('data is not UTF-8 JSON');
  }
  return checkLabeledEvent(value);
}

/** The event a producer publishes for one label: checked first, keyed by model. */
function labeledEventToPublish(id: string, event: LabeledEvent): EventToPublish {
  const checked = checkLabeledEvent(event);
  return { id, key: checked.model, data: new TextEncoder().encode(JSON.stringify(checked)) };
}

/**
 * Publishes labels for the online learner (POST /v1/feedback or any producer may call it): each is
 * checked, then published in order; the stream is created when missing.
 */
export async function publishLabeledEvents(
  stream: EventStream,
  streamName: string,
  events: ReadonlyArray<{ readonly id: string; readonly event: LabeledEvent }>,
): Promise<PublishAck[]> {
  const toPublish = events.map((e) => labeledEventToPublish(e.id, e.event));
  await stream.ensureStream({ name: streamName });
  return stream.publish(streamName, toPublish);
}
