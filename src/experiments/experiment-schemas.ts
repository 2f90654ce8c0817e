/**
 * The JSON schemas of the experiments API's bodies: the one description of their shape. The HTTP
 * routes show them in /openapi.json and validate with them; the parsers of experiment-definition.ts
 * check with them first (the CLI too), then apply only what a schema cannot say (version xor alias,
 * unique names, weights summing to 1, a bandit floor within 1/arms, values against the experiment's
 * metrics, event times within its life, the server's events-per-request limit).
 */
import type { JsonSchema } from '../core/schema-check.js';
import { EXPERIMENT_NAME } from '../ports/experiment-api.js';
import { MAX_VERSION } from '../registry/model-ref.js';
import { BANDIT_POLICIES, EXPERIMENT_TYPES, MAX_METRIC_BOUND, METRIC_KINDS } from './experiment-types.js';

const MAX_ARMS = 20;
const MAX_METRICS = 20;
/** Longest unit id (user id) routed or accepted in an event; the parser counts UTF-16 code units. */
export const MAX_UNIT_LENGTH = 256;
export const MAX_EVENT_ID_LENGTH = 256;
/** Most event ids in one exclusion request. */
export const MAX_EXCLUDED_IDS = 1000;
const MAX_REASON_LENGTH = 500;

// The name rule is the API's (ports/experiment-api.ts): one regular expression for both.
const EXPERIMENT_NAME_PATTERN = EXPERIMENT_NAME.source;
/** Arm and metric names. */
const ARM_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

const WEIGHTS = 'FERRY_EXPERIMENT_INVALID_WEIGHTS';

const armSchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  description: 'Exactly one of version and alias. Weights: on every arm or on none (equal weights).',
  properties: {
    name: { type: 'string', pattern: ARM_NAME_PATTERN },
    version: { type: 'integer', minimum: 1, maximum: MAX_VERSION },
    alias: { type: 'string', description: 'a registry alias, e.g. "production"' },
    weight: {
      type: 'number',
      minimum: 0,
      maximum: 1,
      description: 'the weights of all arms sum to 1 (± 1e-9)',
      'x-ferry-code': WEIGHTS,
    },
  },
} as const satisfies JsonSchema;

const metricSchema = {
  type: 'object',
  required: ['name', 'kind'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: ARM_NAME_PATTERN, description: 'unique among the metrics' },
    kind: { type: 'string', enum: [...METRIC_KINDS] },
    tau: { type: 'number', exclusiveMinimum: 0, description: 'the mSPRT mixing scale' },
    min: {
      type: 'number',
      minimum: -MAX_METRIC_BOUND,
      maximum: MAX_METRIC_BOUND,
      description: 'numeric only: least event value (default -1e9); below max',
    },
    max: {
      type: 'number',
      minimum: -MAX_METRIC_BOUND,
      maximum: MAX_METRIC_BOUND,
      description: 'numeric only: greatest event value (default 1e9); above min',
    },
  },
} as const satisfies JsonSchema;

/** POST /v1/experiments and `ferry experiments create`. */
export const definitionSchema = {
  type: 'object',
  required: ['name', 'model', 'arms'],
  additionalProperties: false,
  properties: {
    name: {
      type: 'string',
      pattern: EXPERIMENT_NAME_PATTERN,
      description: 'Unique id; also the default hashing seed',
    },
    type: { type: 'string', enum: [...EXPERIMENT_TYPES], default: 'ab' },
    model: { type: 'string', description: 'a registered model name, e.g. "tagifai"' },
    arms: {
      type: 'array',
      minItems: 2,
      maxItems: MAX_ARMS,
      description: 'The first is the control; a canary or shadow has exactly two (production first).',
      items: armSchema,
    },
    coverage: { type: 'number', minimum: 0, maximum: 1, default: 1 },
    seed: { type: 'string', minLength: 1, maxLength: 256 },
    metrics: {
      type: 'array',
      maxItems: MAX_METRICS,
      description: 'ab and bandit experiments need at least one',
      items: metricSchema,
    },
    analysis: {
      type: 'object',
      additionalProperties: false,
      properties: {
        minUnitsPerArm: {
          type: 'integer',
          minimum: 2,
          maximum: Number.MAX_SAFE_INTEGER,
          default: 30,
          description: 'units each arm needs before a comparison is sufficientData',
        },
      },
    },
    bandit: {
      type: 'object',
      additionalProperties: false,
      description: 'type "bandit" only',
      properties: {
        policy: { type: 'string', enum: [...BANDIT_POLICIES], default: 'thompson' },
        floor: { type: 'number', minimum: 0, description: 'least weight of an arm, at most 1/arms' },
        minUnitsPerArm: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 100 },
        updateEveryMs: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER, default: 3_600_000 },
        metric: { type: 'string', description: 'one of the metrics (default: the first)' },
        epsilon: { type: 'number', minimum: 0, maximum: 1, description: 'epsilon-greedy only' },
        rewardRange: { type: 'number', exclusiveMinimum: 0, description: 'ucb1 only' },
      },
    },
    power: {
      type: 'object',
      additionalProperties: false,
      required: ['mde'],
      description:
        'Units-needed estimate: {"baseline": 0.1, "mde": 0.1, "relative": true} for a binary metric',
      properties: {
        metric: { type: 'string' },
        baseline: { type: 'number', description: 'the control rate (binary metrics)' },
        sigma: { type: 'number', description: 'the standard deviation (numeric metrics)' },
        mde: { type: 'number' },
        relative: { type: 'boolean', description: 'binary metrics only' },
        alpha: { type: 'number' },
        power: { type: 'number' },
      },
    },
    description: { type: 'string', maxLength: 2000 },
    canary: { type: 'object', description: 'type "canary" only: its controller settings' },
    shadow: { type: 'object', description: 'type "shadow" only: its mirror settings' },
  },
} as const satisfies JsonSchema;

const eventSchema = {
  type: 'object',
  required: ['unit', 'metric', 'value', 'event_id'],
  additionalProperties: false,
  properties: {
    unit: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_UNIT_LENGTH,
      description: 'no NUL, no unpaired surrogate, at most 256 UTF-16 code units',
    },
    metric: { type: 'string', description: "one of the experiment's metrics" },
    value: {
      type: ['number', 'boolean'],
      description: "binary: 0/1 (or false/true); numeric: within the metric's min/max (default ±1e9)",
    },
    event_id: { type: 'string', minLength: 1, maxLength: MAX_EVENT_ID_LENGTH },
    at: {
      type: 'string',
      description: "an ISO 8601 time within the experiment's life: from its creation − 5 min to now + 5 min",
    },
  },
} as const satisfies JsonSchema;

/** POST /v1/experiments/:id/events: one event, or a batch (at most FERRY_EXPERIMENT_MAX_EVENTS). */
export const eventsBodySchema = {
  oneOf: [
    eventSchema,
    {
      type: 'object',
      required: ['events'],
      additionalProperties: false,
      properties: { events: { type: 'array', minItems: 1, items: eventSchema } },
    },
  ],
} as const satisfies JsonSchema;

/** POST /v1/experiments/:id/events/exclude. */
export const exclusionSchema = {
  type: 'object',
  required: ['reason'],
  additionalProperties: false,
  description: 'At least one of event_ids, unit and outOfRange; every condition given must hold.',
  properties: {
    event_ids: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_EXCLUDED_IDS,
      items: { type: 'string', minLength: 1, maxLength: MAX_EVENT_ID_LENGTH },
    },
    unit: { type: 'string', minLength: 1, maxLength: MAX_UNIT_LENGTH },
    metric: { type: 'string', description: "one of the experiment's metrics" },
    outOfRange: { type: 'boolean' },
    reason: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_REASON_LENGTH,
      description: 'recorded; not blank',
    },
    by: { type: 'string', minLength: 1, maxLength: 256, description: 'who excludes (recorded)' },
  },
} as const satisfies JsonSchema;

/** POST /v1/experiments/:id/conclude; the body is optional. */
export const conclusionSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    winner: { type: ['string', 'null'], maxLength: 64, description: 'an arm name, or null for none' },
    reason: { type: 'string', maxLength: MAX_REASON_LENGTH },
  },
} as const satisfies JsonSchema;

/** POST /v1/experiments/:id/promote|abort; the body is optional. */
export const reasonSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: MAX_REASON_LENGTH } },
} as const satisfies JsonSchema;
