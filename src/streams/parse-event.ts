import { storableTextProblem } from '../core/text-guard.js';
import { parseEventTime } from '../features/event-time.js';
import { keyPart } from '../features/row-transform.js';
import { prepareEvent } from '../features/windows/window-state.js';
import type { Delivery } from '../ports/event-stream.js';
import { entityKeyOf, type FeatureValue } from '../ports/online-feature-store.js';
import type { PipelinePlan, PlannedView } from './pipeline-plan.js';

/** What one view takes from an event: the entity, and its row values or its aggregations' values. */
export type ViewInput =
  | { readonly kind: 'row'; readonly entityKey: string; readonly values: Record<string, FeatureValue> }
  | { readonly kind: 'window'; readonly entityKey: string; readonly values: readonly unknown[] };

export interface GoodEvent {
  readonly ok: true;
  readonly delivery: Delivery;
  readonly id: string;
  readonly eventTimeMs: number;
  /** One per view of the plan, in its order. */
  readonly inputs: readonly ViewInput[];
}

export interface BadEvent {
  readonly ok: false;
  readonly delivery: Delivery;
  /** The event's id when it has a usable one (so a redelivery is recognised). */
  readonly id: string | undefined;
  readonly reason: string;
}

export type ParsedEvent = GoodEvent | BadEvent;

const MAX_ID_BYTES = 256;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * An event's bytes checked and read, without I/O: JSON object, id, event time (not further in the
 * future than the pipeline allows), each view's entity key and typed values. Anything wrong is a
 * BadEvent with the reason (dead letter), never an exception. Ancient events are judged later,
 * against the stored watermark.
 */
export function parseEvent(
  plan: PipelinePlan,
  delivery: Delivery,
  maxEventBytes: number,
  nowMs: number,
): ParsedEvent {
  const bad = (reason: string, id?: string): BadEvent => ({ ok: false, delivery, id, reason });
  const size = delivery.data.byteLength;
  if (size > maxEventBytes) return bad(`too large: ${size} bytes, the limit is ${maxEventBytes}`);
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(delivery.data));
  } catch (e) {
    return bad(
      e instanceof TypeError
        ? 'not JSON: the bytes are not UTF-8'
        : `not JSON: ${clip((e as Error).message)}`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return bad(
      `not a JSON object: ${Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value}`,
    );
  }
  const fields = value as Record<string, unknown>;
  const id = eventId(field(fields, plan.idField), plan.idField);
  if (typeof id !== 'string') return bad(id.reason);
  const rawTime = field(fields, plan.timestampField);
  if (rawTime === undefined || rawTime === null || rawTime === '') {
    return bad(`no event time ("${plan.timestampField}")`, id);
  }
  const eventTimeMs = parseEventTime(rawTime);
  if (eventTimeMs === undefined) {
    return bad(`bad event time "${clip(String(rawTime))}": not ISO 8601 or milliseconds since the epoch`, id);
  }
  if (eventTimeMs > nowMs + plan.maxFutureSkewMs) {
    return bad(
      `far-future: event time ${new Date(eventTimeMs).toISOString()} is more than ${plan.maxFutureSkewMs} ms ahead of ${new Date(nowMs).toISOString()}`,
      id,
    );
  }
  const inputs: ViewInput[] = [];
  for (const view of plan.views) {
    const input = viewInput(view, fields);
    if (typeof input === 'string') return bad(`view ${view.name}: ${input}`, id);
    inputs.push(input);
  }
  return { ok: true, delivery, id, eventTimeMs, inputs };
}

function viewInput(view: PlannedView, fields: Record<string, unknown>): ViewInput | string {
  if (view.row !== undefined) {
    const r = view.row.apply(fields);
    return r.ok ? { kind: 'row', entityKey: r.entityKey, values: r.values } : r.reason;
  }
  const parts: string[] = [];
  for (const key of view.joinKeys) {
    const part = keyPart(field(fields, key), key);
    if (typeof part !== 'string') return part.reason;
    parts.push(part);
  }
  const prepared = prepareEvent(view.window!, fields);
  if (!prepared.ok) return prepared.reason;
  return { kind: 'window', entityKey: entityKeyOf(parts), values: prepared.values };
}

/** The id: non-empty text or an integer, at most 256 bytes, storable. */
function eventId(value: unknown, idField: string): string | { reason: string } {
  let id: string;
  if (typeof value === 'string') id = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) id = String(value);
  else if (value === undefined || value === null) return { reason: `no id ("${idField}")` };
  else return { reason: `the id must be text or an integer, not ${typeof value}` };
  if (id === '') return { reason: 'the id is empty' };
  if (id.length > MAX_ID_BYTES || Buffer.byteLength(id) > MAX_ID_BYTES) {
    return { reason: `the id is longer than ${MAX_ID_BYTES} bytes` };
  }
  const problem = storableTextProblem(id);
  return problem === undefined ? id : { reason: `the id ${problem}` };
}

function field(fields: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(fields, name) ? fields[name] : undefined;
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
