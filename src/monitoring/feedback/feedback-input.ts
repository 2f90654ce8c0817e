import { entityIdProblem } from '../../core/entity-id.js';
import { ErrorCode, FerryError } from '../../core/errors.js';
import { type JsonSchema, schemaProblem } from '../../core/schema-check.js';
import { checkIdentifier, storableTextProblem } from '../../core/text-guard.js';

/** One label as a client gives it: exactly one of requestId and entityId. */
export interface NewLabel {
  readonly requestId?: string;
  readonly entityId?: string;
  readonly item: number;
  readonly label: string;
}

/** What a label is about: the idempotency key within a model. */
export interface LabelKey {
  readonly kind: 'request' | 'entity';
  readonly id: string;
  readonly item: number;
}

export function keyOf(l: NewLabel): LabelKey {
  return l.requestId !== undefined
    ? { kind: 'request', id: l.requestId, item: l.item }
    : { kind: 'entity', id: l.entityId ?? '', item: l.item };
}

/** A map key for a label key; NUL cannot occur in ids (refused at the edge), so it separates. */
export function labelKeyText(k: LabelKey): string {
  return `${k.kind}\u0000${k.id}\u0000${k.item}`;
}

/** Largest item index accepted (a request has at most FERRY_MAX_ITEMS items, ≤ 100,000). */
const MAX_ITEM = 100_000;
/** Labels are class names: identifiers' bound. */
const MAX_LABEL_BYTES = 256;

const labelProperties = {
  request_id: {
    type: 'string',
    minLength: 1,
    maxLength: 256,
    description: 'The id of the prediction request (its x-request-id, or the v2 `id`), as logged',
  },
  entity_id: {
    type: 'string',
    minLength: 1,
    maxLength: 512,
    description: "A stored (batch) prediction's entity id (item must then be 0)",
  },
  item: {
    type: 'integer',
    minimum: 0,
    maximum: MAX_ITEM,
    description: 'The item of a multi-item request; default 0',
  },
  label: {
    type: 'string',
    minLength: 1,
    maxLength: MAX_LABEL_BYTES,
    description: "The true label: one of the production version's classes",
  },
} as const satisfies Record<string, JsonSchema>;

/**
 * The body of POST /v1/feedback, shown in /openapi.json and applied by the route's validator (and
 * the same per-label rules by `ferry feedback import`): one label at the top level, or `labels`.
 */
export function feedbackBodySchema(maxItems: number): JsonSchema {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['model'],
    description:
      'One label ({model, request_id | entity_id, item?, label}) or many ({model, labels: [{request_id | entity_id, item?, label}, …]})',
    properties: {
      model: {
        type: 'string',
        minLength: 1,
        maxLength: 256,
        description: 'The model the predictions came from',
      },
      ...labelProperties,
      labels: {
        type: 'array',
        minItems: 1,
        maxItems,
        description: `At most ${maxItems} labels (FERRY_FEEDBACK_MAX_ITEMS)`,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['label'],
          properties: labelProperties,
        },
      },
    },
  };
}

function invalid(field: string, message: string): FerryError {
  return new FerryError(ErrorCode.FEEDBACK_INVALID, `${field}: ${message}`, { details: { field } });
}

/** Text a store must keep exactly, by the text guard's rules, refused as FERRY_FEEDBACK_INVALID. */
function guarded(value: string, field: string, maxBytes: number): string {
  try {
    checkIdentifier(value, field);
  } catch (e) {
    throw e instanceof FerryError ? invalid(field, e.message.slice(field.length + 2)) : e;
  }
  if (Buffer.byteLength(value, 'utf8') > maxBytes) throw invalid(field, `must be at most ${maxBytes} bytes`);
  const problem = storableTextProblem(value);
  if (problem !== undefined) throw invalid(field, problem);
  return value;
}

/**
 * One label object (already of the schema's shape, or a CSV/JSONL record checked here): exactly
 * one of request_id and entity_id, ids and the label by the text guard's rules.
 */
export function checkLabelObject(raw: Readonly<Record<string, unknown>>, at: string): NewLabel {
  const prefix = at === '' ? '' : `${at}.`;
  const hasRequest = raw.request_id !== undefined && raw.request_id !== null && raw.request_id !== '';
  const hasEntity = raw.entity_id !== undefined && raw.entity_id !== null && raw.entity_id !== '';
  if (hasRequest === hasEntity) {
    throw invalid(at === '' ? 'body' : at, 'give exactly one of request_id and entity_id');
  }
  const item = raw.item ?? 0;
  if (typeof item !== 'number' || !Number.isInteger(item) || item < 0 || item > MAX_ITEM) {
    throw invalid(`${prefix}item`, `must be an integer from 0 to ${MAX_ITEM}`);
  }
  if (typeof raw.label !== 'string') throw invalid(`${prefix}label`, 'must be a string');
  const label = guarded(raw.label, `${prefix}label`, MAX_LABEL_BYTES);
  if (hasRequest) {
    if (typeof raw.request_id !== 'string') throw invalid(`${prefix}request_id`, 'must be a string');
    return { requestId: guarded(raw.request_id, `${prefix}request_id`, 256), item, label };
  }
  const problem = entityIdProblem(raw.entity_id);
  if (problem !== undefined) throw invalid(`${prefix}entity_id`, problem);
  // A stored prediction is one row per entity: there is no other item to judge.
  if (item !== 0) throw invalid(`${prefix}item`, 'must be 0 (or absent) with entity_id');
  return { entityId: raw.entity_id as string, item, label };
}

/** A checked POST /v1/feedback body. */
export interface FeedbackBody {
  model: string;
  labels: NewLabel[];
}

/**
 * Checks a POST /v1/feedback body: more than `maxItems` labels is 413 FERRY_FEEDBACK_TOO_LARGE
 * (counted before anything else is looked at), anything malformed 400 FERRY_FEEDBACK_INVALID.
 */
export function parseFeedbackBody(raw: unknown, schema: JsonSchema, maxItems: number): FeedbackBody {
  const rawLabels =
    typeof raw === 'object' && raw !== null ? (raw as { labels?: unknown }).labels : undefined;
  if (Array.isArray(rawLabels) && rawLabels.length > maxItems) {
    throw new FerryError(
      ErrorCode.FEEDBACK_TOO_LARGE,
      `${rawLabels.length} labels in one request; at most ${maxItems} (FERRY_FEEDBACK_MAX_ITEMS)`,
      { details: { count: rawLabels.length, max: maxItems } },
    );
  }
  const problem = schemaProblem(schema, raw);
  if (problem !== undefined) {
    throw new FerryError(ErrorCode.FEEDBACK_INVALID, problem.message, { details: { field: problem.field } });
  }
  const body = raw as Record<string, unknown>;
  const model = guarded(body.model as string, 'model', 256);
  if (rawLabels === undefined) return { model, labels: [checkLabelObject(body, '')] };
  for (const k of ['request_id', 'entity_id', 'item', 'label'])
    if (body[k] !== undefined) throw invalid(k, 'give it inside each of `labels`, not beside them');
  return {
    model,
    labels: (rawLabels as Record<string, unknown>[]).map((l, i) => checkLabelObject(l, `labels[${i}]`)),
  };
}

/**
 * Labels must be classes of the model (the production version's): 422 FERRY_FEEDBACK_UNKNOWN_LABEL
 * listing them. A model without classes (a regressor, a model whose outputs name none) takes any label.
 */
export function checkClasses(model: string, labels: readonly NewLabel[], classes: readonly string[]): void {
  if (classes.length === 0) return;
  const known = new Set(classes);
  const index = labels.findIndex((l) => !known.has(l.label));
  if (index === -1) return;
  const bad = labels[index]!.label;
  throw new FerryError(
    ErrorCode.FEEDBACK_UNKNOWN_LABEL,
    `label ${JSON.stringify(bad)} is not a class of ${model}: one of ${classes.map((c) => JSON.stringify(c)).join(', ')}`,
    {
      details: {
        field: labels.length === 1 ? 'label' : `labels[${index}].label`,
        label: bad,
        classes: [...classes],
      },
    },
  );
}
