import { ErrorCode, isFerryError, toFerryError } from '../../../core/errors.js';
import { generateInputs } from '../../generate-inputs.js';
import type { Model } from '../../model.js';
import { isBatchable, isFloat, type NamedTensors, type Signature, splitRows } from '../../tensor.js';
import { type BundleOptions, bundleCustomModel } from './bundle.js';
import { customModel } from './custom-model.js';
import { importDefinition, type LoadedDefinition, loadInstance } from './load-module.js';
import { type UnpackedBundle, unpackBundle } from './unpack.js';

/*
 * `ferry models check`: a custom model's conformance checks, in the spirit of scikit-learn's
 * check_estimator, run on the same path serving takes (bundle, unpack, import, load, infer with the
 * output check), so what passes here opens and answers the same way when served.
 *
 * Inputs of the wrong shape are not tried: the serving layer checks every request against the
 * signature before the model sees it, so a model never receives one. What is checked instead is
 * the other side of that contract: for valid inputs, at every batch size tried, the model answers
 * with outputs that fit its signature.
 */

export interface CheckOptions extends BundleOptions {
  /** Where the bundle is unpacked (`<cacheDir>/custom/<sha256>`), as when served. */
  readonly cacheDir: string;
  /** Longest a call into the module may take (ms); default 10 000. */
  readonly callTimeoutMs?: number;
  /** Seeds the generated inputs; default 42. */
  readonly seed?: number;
  /** N of the "batch of 1 and batch of N" check, and the rows of the other checks' inputs; default 3. */
  readonly rows?: number;
}

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly message: string;
  /** Not run: not applicable (ok) or an earlier check failed (not ok). */
  readonly skipped?: boolean;
}

export interface CheckReport {
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
}

const CHECK_NAMES = [
  'bundles',
  'exports defineModel',
  'signature valid',
  'loads',
  'outputs match the signature',
  'deterministic',
  'batch of 1 and batch of N agree',
  'closes',
] as const;
type CheckName = (typeof CHECK_NAMES)[number];

const FLOAT_TOLERANCE = 1e-6;

function describe(e: unknown): string {
  const err = toFerryError(e);
  return `${err.code}: ${err.message}`;
}

/** The first difference between two outputs, or undefined when they agree (floats within a tolerance). */
function difference(a: NamedTensors, b: NamedTensors, tolerant: boolean): string | undefined {
  for (const [name, ta] of Object.entries(a)) {
    const tb = b[name];
    if (!tb || tb.datatype !== ta.datatype || JSON.stringify(tb.shape) !== JSON.stringify(ta.shape)) {
      return `"${name}" differs in datatype or shape`;
    }
    for (let i = 0; i < ta.data.length; i++) {
      const x = ta.data[i];
      const y = tb.data[i];
      if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
      const close =
        tolerant &&
        isFloat(ta.datatype) &&
        typeof x === 'number' &&
        typeof y === 'number' &&
        Math.abs(x - y) <= FLOAT_TOLERANCE * Math.max(1, Math.abs(x), Math.abs(y));
      if (!close) return `"${name}" element ${i}: ${JSON.stringify(x)} vs ${JSON.stringify(y)}`;
    }
  }
  return undefined;
}

function shapes(tensors: NamedTensors): string {
  return Object.entries(tensors)
    .map(([n, t]) => `${n} ${t.datatype}${JSON.stringify(t.shape)}`)
    .join(', ');
}

type Pass = (name: CheckName, message: string, skipped?: boolean) => void;
type Fail = (name: CheckName, message: string) => void;

/** Runs every check; never throws for a failing model (the report says what failed). */
export async function checkCustomModel(path: string, opts: CheckOptions): Promise<CheckReport> {
  const results = new Map<CheckName, CheckResult>();
  const pass: Pass = (name, message, skipped) =>
    results.set(name, { name, ok: true, message, ...(skipped ? { skipped } : {}) });
  const fail: Fail = (name, message) => results.set(name, { name, ok: false, message });
  const stoppedAt = await runChecks(path, opts, pass, fail);
  return report(results, stoppedAt);
}

/** The checks in order; returns the check whose failure stopped the run, if one did. */
async function runChecks(
  path: string,
  opts: CheckOptions,
  pass: Pass,
  fail: Fail,
): Promise<CheckName | undefined> {
  const timeoutMs = opts.callTimeoutMs ?? 10_000;
  const rows = opts.rows ?? 3;

  let bundle: UnpackedBundle;
  try {
    bundle = await unpackBundle(await bundleCustomModel(path, opts), opts.cacheDir);
    pass('bundles', `${bundle.fileCount} file(s), entry ${bundle.entry}`);
  } catch (e) {
    fail('bundles', describe(e));
    return 'bundles';
  }

  let def: LoadedDefinition;
  try {
    def = await importDefinition(bundle, timeoutMs);
    pass('exports defineModel', 'the default export is a model definition');
    pass('signature valid', signatureLine(def.signature));
  } catch (e) {
    if (!isFerryError(e, ErrorCode.MODEL_INVALID_SIGNATURE)) {
      fail('exports defineModel', describe(e));
      return 'exports defineModel';
    }
    pass('exports defineModel', 'the default export is a model definition');
    fail('signature valid', describe(e));
    return 'signature valid';
  }

  let model: Model;
  try {
    model = customModel(def, await loadInstance(def, bundle, timeoutMs), bundle, timeoutMs);
    pass('loads', 'load(dir) returned an object with predictBatch');
  } catch (e) {
    fail('loads', describe(e));
    return 'loads';
  }

  try {
    const inputs = generateInputs(def.signature, opts.seed ?? 42, rows);
    let first: NamedTensors;
    try {
      first = await model.infer(inputs);
      pass('outputs match the signature', `${shapes(inputs)} -> ${shapes(first)}`);
    } catch (e) {
      fail('outputs match the signature', describe(e));
      return 'outputs match the signature';
    }
    try {
      const diff = difference(first, await model.infer(inputs), false);
      if (diff) fail('deterministic', `the same inputs twice gave different outputs: ${diff}`);
      else pass('deterministic', 'the same inputs twice gave the same outputs');
    } catch (e) {
      fail('deterministic', `the second call failed: ${describe(e)}`);
    }
    await checkBatchRows(model, inputs, first, rows, pass, fail);
    return undefined;
  } finally {
    try {
      await model.close?.();
      pass('closes', 'close() finished');
    } catch (e) {
      fail('closes', describe(e));
    }
  }
}

async function checkBatchRows(
  model: Model,
  inputs: NamedTensors,
  batch: NamedTensors,
  rows: number,
  pass: Pass,
  fail: Fail,
): Promise<void> {
  const name = 'batch of 1 and batch of N agree';
  if (!isBatchable(model.signature)) {
    pass(name, 'not run: the signature is not batchable', true);
    return;
  }
  const batchRows = splitRows(batch, rows);
  const inputRows = splitRows(inputs, rows);
  for (let r = 0; r < rows; r++) {
    let single: NamedTensors;
    try {
      single = await model.infer(
        Object.fromEntries(
          Object.entries(inputRows[r]!).map(([n, t]) => [n, { ...t, shape: [1, ...t.shape] }]),
        ),
      );
    } catch (e) {
      fail(name, `row ${r} alone failed: ${describe(e)}`);
      return;
    }
    const alone = splitRows(single, 1)[0]!;
    const diff = difference(batchRows[r]!, alone, true);
    if (diff) {
      fail(name, `row ${r} alone differs from row ${r} of the batch of ${rows}: ${diff}`);
      return;
    }
  }
  pass(name, `each of ${rows} rows alone gives its row of the batch`);
}

function signatureLine(signature: Signature): string {
  const specs = (list: Signature['inputs']) =>
    list.map((t) => `${t.name} ${t.datatype}${JSON.stringify(t.shape)}`).join(', ');
  return `${specs(signature.inputs)} -> ${specs(signature.outputs)}${isBatchable(signature) ? ' (batchable)' : ''}`;
}

/** The report in CHECK_NAMES order; the checks that did not run after `stoppedAt` failed are skipped, not ok. */
function report(results: Map<CheckName, CheckResult>, stoppedAt: CheckName | undefined): CheckReport {
  const checks = CHECK_NAMES.map(
    (name): CheckResult =>
      results.get(name) ?? {
        name,
        ok: false,
        skipped: true,
        message: stoppedAt ? `not run: "${stoppedAt}" failed` : 'not run',
      },
  );
  return { ok: checks.every((c) => c.ok), checks };
}
