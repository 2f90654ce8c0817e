import { ErrorCode, FerryError } from '../core/errors.js';
import type {
  DistillOptions,
  OptimizeMethod,
  PruneOptions,
  QuantizeOptions,
  StudentSpec,
} from './optimize-types.js';
import { formatStudentSpec, parseStudentSpec } from './student-spec.js';

/*
 * The options of `ferry optimize`, parsed from the text a user typed and checked once, here, so the
 * CLI and library callers of runOptimize refuse the same things with FERRY_OPTIMIZE_INVALID.
 */

const PRUNE_METHODS = ['magnitude', 'structured'] as const;
const QUANTIZE_DTYPES = ['int8', 'float16'] as const;
export const DEFAULT_TEMPERATURE = 2;
export const DEFAULT_ALPHA = 0.5;
export const DEFAULT_STUDENT = 'word:1-2';

export function invalidOption(message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError(ErrorCode.OPTIMIZE_INVALID, message, { details });
}

/** A decimal number, the whole text (Number('') is 0 and parseFloat('0.5x') is 0.5: both refused). */
function numberOf(flag: string, text: string | undefined): number {
  const trimmed = (text ?? '').trim();
  const n = trimmed === '' ? Number.NaN : Number(trimmed);
  if (!Number.isFinite(n))
    throw invalidOption(`${flag} must be a number, got ${JSON.stringify(text)}`, { flag });
  return n;
}

function positiveIntegerOf(flag: string, text: string | undefined): number {
  const n = numberOf(flag, text);
  if (!Number.isInteger(n) || n < 1)
    throw invalidOption(`${flag} must be a positive integer, got ${JSON.stringify(text)}`, { flag });
  return n;
}

export interface RawPruneFlags {
  method?: string;
  sparsity?: string;
  keepFeatures?: string;
  fineTune?: boolean;
}

export function parsePruneOptions(raw: RawPruneFlags): PruneOptions {
  const method = raw.method ?? 'magnitude';
  const fineTune = raw.fineTune === true;
  if (method === 'magnitude') {
    if (raw.keepFeatures !== undefined) throw invalidOption('--keep-features goes with --method structured');
    if (raw.sparsity === undefined) throw invalidOption('--method magnitude needs --sparsity <s> in (0, 1)');
    return checkPrune({ method, sparsity: numberOf('--sparsity', raw.sparsity), fineTune });
  }
  if (method === 'structured') {
    if (raw.sparsity !== undefined) throw invalidOption('--sparsity goes with --method magnitude');
    if (raw.keepFeatures === undefined)
      throw invalidOption('--method structured needs --keep-features <n> (vocabulary features kept)');
    return { method, keepFeatures: positiveIntegerOf('--keep-features', raw.keepFeatures), fineTune };
  }
  throw invalidOption(
    `unknown prune --method ${JSON.stringify(method)}; choose ${PRUNE_METHODS.join(' or ')}`,
    {
      method,
    },
  );
}

/** The same rules for options built in code (the library), not parsed from flags. */
export function checkPrune(opts: PruneOptions): PruneOptions {
  if (opts.method === 'magnitude' && !(opts.sparsity > 0 && opts.sparsity < 1))
    throw invalidOption(`--sparsity must be in (0, 1), got ${opts.sparsity}`, { sparsity: opts.sparsity });
  if (opts.method === 'structured' && !(Number.isInteger(opts.keepFeatures) && opts.keepFeatures >= 1))
    throw invalidOption(`--keep-features must be a positive integer, got ${opts.keepFeatures}`);
  return opts;
}

export function parseQuantizeOptions(raw: { dtype?: string }): QuantizeOptions {
  const dtype = raw.dtype ?? 'int8';
  if (dtype !== 'int8' && dtype !== 'float16')
    throw invalidOption(`unknown --dtype ${JSON.stringify(dtype)}; choose ${QUANTIZE_DTYPES.join(' or ')}`, {
      dtype,
    });
  return { dtype };
}

export interface RawDistillFlags {
  student?: string;
  temperature?: string;
  alpha?: string;
}

/** Distillation's options without the unlabeled texts (runOptimize reads those from --unlabeled-loc). */
export function parseDistillOptions(raw: RawDistillFlags): Omit<DistillOptions, 'unlabeled'> {
  return checkDistill({
    student: parseStudentSpec(raw.student ?? DEFAULT_STUDENT),
    temperature:
      raw.temperature === undefined ? DEFAULT_TEMPERATURE : numberOf('--temperature', raw.temperature),
    alpha: raw.alpha === undefined ? DEFAULT_ALPHA : numberOf('--alpha', raw.alpha),
  });
}

/**
 * The softening temperature's bound: a huge T (1e308) flattens every soft target to uniform and
 * scales the loss by T² = Infinity; such a student answered 0.25 for every class. Distillation
 * uses T of 1 to 20.
 */
const MAX_TEMPERATURE = 100;

export function checkDistill<T extends Omit<DistillOptions, 'unlabeled'>>(opts: T): T {
  if (!(opts.temperature > 0 && opts.temperature <= MAX_TEMPERATURE))
    throw invalidOption(`--temperature must be a number in (0, ${MAX_TEMPERATURE}], got ${opts.temperature}`);
  if (!(opts.alpha >= 0 && opts.alpha <= 1))
    throw invalidOption(`--alpha must be in [0, 1], got ${opts.alpha}`);
  return opts;
}

/** The report's row label of a variant: `prune magnitude 0.9`, `quantize int8`, `distill word:1-2`. */
export function variantLabel(method: OptimizeMethod, options: Record<string, unknown>): string {
  if (method === 'quantize') return `quantize ${String(options.dtype)}`;
  if (method === 'prune') {
    const amount = options.method === 'magnitude' ? options.sparsity : options.keepFeatures;
    return `prune ${String(options.method)} ${String(amount)}${options.fineTune ? ' fine-tuned' : ''}`;
  }
  return `distill ${formatStudentSpec(options.student as StudentSpec)}`;
}
