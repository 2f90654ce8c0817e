export {
  assertAlias,
  assertModelName,
  assertVersion,
  DEFAULT_ALIAS,
  formatModelRef,
  isValidAlias,
  isValidModelName,
  isValidVersion,
  MAX_VERSION,
  type ModelRef,
  parseModelRef,
  parseVersionText,
} from './model-ref.js';
export { ModelRegistry } from './model-registry.js';
export type {
  AliasEvent,
  AliasMove,
  ModelSummary,
  ModelVersion,
  RegisterMeta,
  VersionPage,
} from './types.js';
