import type { ExperimentBodies } from '../ports/experiment-api.js';
import { checkEventsBody, conform, parseConclusion, parseReason } from './experiment-definition.js';
import {
  conclusionSchema,
  definitionSchema,
  eventsBodySchema,
  exclusionSchema,
  reasonSchema,
} from './experiment-schemas.js';

/** The experiments API's bodies as ExperimentService exposes them to the HTTP layer (a port). */
export const EXPERIMENT_BODIES: ExperimentBodies = {
  schemas: {
    definition: definitionSchema,
    events: eventsBodySchema,
    exclusion: exclusionSchema,
    conclusion: conclusionSchema,
    reason: reasonSchema,
  },
  conform: (schema, raw) => conform(schema, raw),
  checkEvents: checkEventsBody,
  conclusion: parseConclusion,
  reason: parseReason,
};
