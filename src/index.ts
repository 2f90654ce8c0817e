/**
 * Ferry as a library (`import { openFerry } from 'ferry'`): what a TypeScript program needs to
 * train, register, load and serve models without the CLI. Kept small on purpose: everything not
 * exported here is internal and may change in any release.
 */

// Opening Ferry from its settings: the registry alone, or the whole model server.
export { type FerryContext, openFerry, openFerry as openRegistry } from './app/open-ferry.js';
// Stream processing: a pipeline of a feature repository run over a transport, and the producer.
export { type OptimizeApp, openOptimize } from './app/open-optimize.js';
export {
  type OpenServingOptions,
  openServing as createServer,
  openServing,
  type ServingRuntime,
} from './app/open-serving.js';
export { createProducer, openPipelineContext, type PipelineContext } from './app/open-streams.js';
// Settings and errors.
export { type FerryConfig, loadConfig } from './core/config.js';
export { ErrorCode, type ErrorCodeName, FerryError, isFerryError } from './core/errors.js';
// Feature repositories: `export default defineFeatures({...})` in features.ts / features.mjs.
export {
  defineFeatures,
  type EntityDef,
  type FeatureRepoDef,
  type FeatureServiceDef,
  type FeatureViewDef,
  type SourceDef,
} from './features/feature-definitions.js';
// The model contract and the built-in text classifier.
export { decodeModel } from './model/codec.js';
// Custom models (kind `custom`): a module's defineModel, the bundle the registry stores, the checks.
export { type BundleOptions, bundleCustomModel } from './model/kinds/custom/bundle.js';
export {
  type CheckOptions,
  type CheckReport,
  type CheckResult,
  checkCustomModel,
} from './model/kinds/custom/check-model.js';
export {
  type CustomModelDefinition,
  type CustomModelInstance,
  type DefinedCustomModel,
  defineModel,
} from './model/kinds/custom/define-model.js';
export { OnlineTextClassifier } from './model/kinds/online-text/online-text-classifier.js';
export type { Model, Prediction, TextInput } from './model/model.js';
export type { Datatype, NamedTensors, Signature, Tensor, TensorSpec } from './model/tensor.js';
export { TextClassifier } from './model/text-classifier.js';
// Monitoring: drift statistics with Evidently's defaults, streaming detectors, profiles.
export type { DetectorName, DetectorState, DriftDetector } from './monitoring/detector-types.js';
export { createDetector, restoreDetector } from './monitoring/detectors/index.js';
export type { ColumnDrift, ColumnDriftOptions, DriftMethod, TextDrift } from './monitoring/drift-types.js';
export type { FeatureSummary, ReferenceProfile } from './monitoring/reference-profile.js';
export { columnDrift } from './monitoring/stats/column-drift.js';
export { datasetDrift } from './monitoring/stats/dataset-drift.js';
export { textDomainDrift } from './monitoring/stats/domain-classifier.js';
// Optimization (`ferry optimize`): the methods, the measured report, the ONNX export of the head.
export { distill } from './optimize/distill.js';
export { fineTune } from './optimize/fine-tune.js';
export { onnxFeatureFeeds } from './optimize/onnx-export/feature-feeds.js';
export { exportTextClassifierOnnx } from './optimize/onnx-export/text-classifier-graph.js';
export type {
  DistillOptions,
  OptimizeReport,
  PruneOptions,
  QuantizeOptions,
  StudentSpec,
  VariantMeasurement,
} from './optimize/optimize-types.js';
export { pruneMagnitude } from './optimize/prune-magnitude.js';
export { pruneStructured } from './optimize/prune-structured.js';
export { quantizeTextClassifier } from './optimize/quantize.js';
export { createMeasureReport } from './optimize/report/measure.js';
export { renderReportSvg } from './optimize/report/render-svg.js';
export { renderReportTable } from './optimize/report/render-table.js';
export { type OptimizeRequest, type OptimizeResult, runOptimize } from './optimize/run-optimize.js';
// The registry: versions, aliases, verified loading.
export {
  type AliasEvent,
  type AliasMove,
  formatModelRef,
  type ModelRef,
  ModelRegistry,
  type ModelSummary,
  type ModelVersion,
  parseModelRef,
  type RegisterMeta,
} from './registry/index.js';
export { kindContextOf, loadModel, loadTextModel } from './registry/load-model.js';
export { type RegisterArtifactOptions, registerArtifact } from './registry/register-artifact.js';
export { loadServingConfig, type ServingConfig } from './serving/serving-config.js';
export { type PipelinePlan, planPipeline } from './streams/pipeline-plan.js';
export type { ProducerOptions, PublishResult, StreamProducer } from './streams/producer.js';
export {
  type PipelineDeps,
  type PipelineHandle,
  type RunPipelineOptions,
  runPipeline,
} from './streams/run-pipeline.js';
// Training.
export { type Dataset, parseLabeledDataset } from './train/dataset.js';
export { loadLabeledDataset } from './train/load-dataset.js';
export { type TrainOptions, type TrainOutcome, trainTextClassifier } from './train/pipeline.js';
export { type Registered, type RegisterOptions, registerTrained } from './train/register-trained.js';
