import { ErrorCode, FerryError } from '../../core/errors.js';
import { decodeModel } from '../../model/codec.js';
import { kindLabel, modelKind } from '../../model/kinds/index.js';
import { textClassifierKind } from '../../model/kinds/text-classifier-kind.js';
import { TEXT_CLASSIFIER_KIND, TextClassifier } from '../../model/text-classifier.js';
import type { ModelVersion } from '../../registry/types.js';
import { exportTextClassifierOnnx, type OnnxExportDtype } from './text-classifier-graph.js';

export interface ExportOptions {
  format: 'onnx';
  dtype: OnnxExportDtype;
}

const FORMATS = ['onnx'] as const;
const DTYPES: readonly OnnxExportDtype[] = ['float32', 'int8'];
/** The kinds `ferry models export` can write, as users type them. */
const EXPORTABLE_KINDS = [kindLabel(TEXT_CLASSIFIER_KIND)];

/** `--format` and `--dtype` as typed: anything else is FERRY_OPTIMIZE_INVALID (exit 2). */
export function parseExportOptions(format: string, dtype: string): ExportOptions {
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new FerryError(
      ErrorCode.OPTIMIZE_INVALID,
      `--format ${JSON.stringify(format)}: the export formats are ${FORMATS.join(', ')}`,
      { details: { format } },
    );
  }
  const found = DTYPES.find((d) => d === dtype);
  if (found === undefined) {
    throw new FerryError(
      ErrorCode.OPTIMIZE_INVALID,
      `--dtype ${JSON.stringify(dtype)}: the ONNX export takes ${DTYPES.join(' or ')}`,
      { details: { dtype } },
    );
  }
  return { format: 'onnx', dtype: found };
}

function unsupported(what: string): FerryError {
  return new FerryError(
    ErrorCode.OPTIMIZE_UNSUPPORTED,
    `${what} cannot be exported to ONNX; the kinds that can: ${EXPORTABLE_KINDS.join(', ')}`,
    { details: { exportable: EXPORTABLE_KINDS } },
  );
}

/**
 * The built-in text classifier behind a registered version, checked by kind before anything is
 * decoded (an onnx or custom version is refused without loading its runtime).
 */
function exportableModel(version: ModelVersion, bytes: Uint8Array): TextClassifier {
  const ref = `${version.name}/${version.version} (${kindLabel(version.kind)})`;
  if (modelKind(version.kind) !== textClassifierKind) throw unsupported(ref);
  const model = decodeModel(bytes);
  if (!(model instanceof TextClassifier)) throw unsupported(ref);
  return model;
}

/** The ONNX file of a registered version, after its options are parsed. */
export function exportVersion(version: ModelVersion, bytes: Uint8Array, opts: ExportOptions): Uint8Array {
  return exportTextClassifierOnnx(exportableModel(version, bytes), { dtype: opts.dtype });
}

/** What `--register` stores in the new version's params: where it came from and how. */
export function exportLineage(version: ModelVersion, opts: ExportOptions): Record<string, unknown> {
  return {
    lineage: {
      parent: { name: version.name, version: version.version },
      method: 'export',
      options: { format: opts.format, dtype: opts.dtype },
    },
  };
}
