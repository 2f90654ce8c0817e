import { ErrorCode, FerryError } from '../../../core/errors.js';
import { isTextModel, type Model } from '../../../model/model.js';
import { isBatchable } from '../../../model/tensor.js';
import { entityIdProblem } from '../../prediction-store.js';
import type { InputRecord } from '../types.js';
import { type MappedTensor, rowSpecs, tensorsOfValues } from './tensor-values.js';

/**
 * Which input columns make a row (`--input-map tensor=column,...`): the text classifier's title and
 * description (its fast path), or one column per input tensor of any other model.
 */
export type RowMapping =
  | { readonly kind: 'text'; readonly title: string; readonly description: string }
  | { readonly kind: 'tensors'; readonly tensors: readonly MappedTensor[] };

/** Today's rows: columns `title` and `description`. */
export const TEXT_MAPPING: RowMapping = { kind: 'text', title: 'title', description: 'description' };

/** The columns a mapping reads, in the order of the model's inputs. */
export function mappedColumns(mapping: RowMapping): string[] {
  return mapping.kind === 'text'
    ? [mapping.title, mapping.description]
    : mapping.tensors.map((t) => t.column);
}

function invalidMap(message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError(ErrorCode.BATCH_INVALID_OPTIONS, message, {
    details: { option: 'inputMap', ...details },
  });
}

/** `title=name,description=body` as {title: 'name', description: 'body'}. */
export function parseInputMap(text: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const tensor = eq === -1 ? '' : part.slice(0, eq).trim();
    const column = eq === -1 ? '' : part.slice(eq + 1).trim();
    if (tensor === '' || column === '') {
      throw invalidMap(`--input-map: ${JSON.stringify(part)} is not tensor=column`);
    }
    if (Object.hasOwn(map, tensor)) throw invalidMap(`--input-map names the input "${tensor}" twice`);
    map[tensor] = column;
  }
  return map;
}

/**
 * The mapping of a model's inputs to columns: each input not in `inputMap` reads the column of its
 * own name (for the text classifier: title=title,description=description, today's rows). An entry
 * naming no input of the model is refused (FERRY_BATCH_INVALID_OPTIONS) before anything is read.
 */
export function rowMappingFor(model: Model, inputMap: Readonly<Record<string, string>> = {}): RowMapping {
  const inputs = model.signature.inputs;
  for (const name of Object.keys(inputMap)) {
    if (!inputs.some((i) => i.name === name)) {
      throw invalidMap(
        `--input-map names "${name}", which is not an input of the model; its inputs are ${inputs.map((i) => `"${i.name}"`).join(', ')}`,
        { inputs: inputs.map((i) => i.name) },
      );
    }
  }
  const columnOf = (name: string) => (Object.hasOwn(inputMap, name) ? inputMap[name]! : name);
  if (isTextModel(model)) {
    return { kind: 'text', title: columnOf('title'), description: columnOf('description') };
  }
  const specs = rowSpecs(inputs, isBatchable(model.signature));
  return { kind: 'tensors', tensors: specs.map((row) => ({ column: columnOf(row.spec.name), row })) };
}

/** Whether the mapping reads the text classifier's default columns (job ids stay what they were). */
export function isDefaultMapping(mapping: RowMapping, model: Model): boolean {
  return JSON.stringify(mappedColumns(mapping)) === JSON.stringify(model.signature.inputs.map((i) => i.name));
}

/**
 * A tensor row from its columns' values, or a reject with the reason: the id as `toRecord` checks
 * it, then every input converted and checked against the signature (see tensor-values.ts).
 */
export function tensorRecord(
  line: number,
  id: string | undefined,
  columnValue: (column: string) => unknown,
  tensors: readonly MappedTensor[],
): InputRecord {
  if (id === undefined || id.trim() === '') return { line, reason: 'missing id' };
  const problem = entityIdProblem(id);
  if (problem !== undefined) return { line, reason: `invalid id: ${problem}` };
  const result = tensorsOfValues(columnValue, tensors);
  if (!result.ok) return { line, id, reason: result.reason };
  return { line, id, tensors: result.value };
}
