/**
 * `npm run build:lambda`: the model server as one AWS Lambda deployment package (nodejs22.x).
 *
 *   dist-lambda/function/index.mjs        the handler (src/lambda/bundle-entry.ts), bundled by esbuild
 *   dist-lambda/function/model/model.json the bundled model's manifest (name, version, kind, sha256, …)
 *   dist-lambda/function/model/model.bin  its artifact
 *   dist-lambda/function.zip              the above, zipped (the `zip` command)
 *
 * The model: `--model-file <artifact>` (with `--kind`, `--name`, `--version`), `--model <ref>` from
 * the project's registry (FERRY_DB), or by default a text classifier trained here on the sample
 * dataset shipped in data/ (rough, but real). `--no-model` bundles the handler alone (the function
 * then needs FERRY_LAMBDA_MODEL_URL and FERRY_LAMBDA_MODEL_SHA256). Prints raw and zipped sizes;
 * `--json` prints them as JSON.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { openFerry } from '../src/app/open-ferry.js';
import { loadConfig } from '../src/core/config.js';
import { sha256Hex } from '../src/core/hash.js';
import { DEFAULT_MODEL_NAME } from '../src/core/settings/catalogue.js';
import { FERRY_VERSION } from '../src/core/version.js';
import { type BundledModelManifest, MANIFEST_FILE, MANIFEST_FORMAT } from '../src/lambda/bundled-model.js';
import { textSignature } from '../src/model/text-tensors.js';
import { parseLabeledDataset } from '../src/train/dataset.js';
import { SAMPLE_DATASET_PATH } from '../src/train/load-dataset.js';
import { trainTextClassifier } from '../src/train/pipeline.js';

const ROOT = resolve(import.meta.dirname, '..');

export interface LambdaBuildOptions {
  /** Output folder (default dist-lambda/ of the checkout). */
  out?: string;
  /** An artifact file to bundle, or `false` for none; default: train on the sample dataset. */
  modelFile?: string | false;
  /** A registry reference (name@alias or name/version) to bundle from the project's registry. */
  modelRef?: string;
  kind?: string;
  name?: string;
  version?: number;
  /** Keep the bundle readable (no minification) and write a source map. */
  debug?: boolean;
}

export interface LambdaBuildResult {
  dir: string;
  zip: string;
  handlerBytes: number;
  modelBytes: number;
  /** Every file of the function folder. */
  rawBytes: number;
  zipBytes: number;
  manifest: BundledModelManifest | null;
}

async function sampleModel(): Promise<{
  bytes: Uint8Array;
  manifest: Omit<BundledModelManifest, 'artifact' | 'format' | 'sha256' | 'size'>;
}> {
  const data = parseLabeledDataset(await readFile(SAMPLE_DATASET_PATH), SAMPLE_DATASET_PATH);
  // The sample is small: the default grid would cross-validate for no gain.
  const outcome = trainTextClassifier(data, { seed: 42, tune: false });
  return {
    bytes: outcome.model.toArtifact(),
    manifest: {
      name: DEFAULT_MODEL_NAME,
      version: 1,
      kind: outcome.model.kind,
      signature: textSignature(outcome.model.classes),
      params: { ...outcome.params },
      metrics: outcome.metrics,
      dataset: { ...outcome.dataset },
      createdAt: new Date().toISOString(),
    },
  };
}

async function registryModel(ref: string) {
  const ferry = await openFerry(loadConfig());
  try {
    const { version, bytes } = await ferry.registry.loadArtifact(ref);
    return {
      bytes,
      manifest: {
        name: version.name,
        version: version.version,
        kind: version.kind,
        signature: version.signature,
        params: version.params,
        metrics: version.metrics,
        dataset: version.dataset,
        createdAt: version.createdAt,
      },
    };
  } finally {
    await ferry.close();
  }
}

async function dirBytes(dir: string, files: readonly string[]): Promise<number> {
  let total = 0;
  for (const f of files) total += (await stat(join(dir, f))).size;
  return total;
}

export async function buildLambda(opts: LambdaBuildOptions = {}): Promise<LambdaBuildResult> {
  const out = resolve(opts.out ?? join(ROOT, 'dist-lambda'));
  const dir = join(out, 'function');
  const zip = join(out, 'function.zip');
  await rm(dir, { recursive: true, force: true });
  await rm(zip, { force: true });
  await mkdir(join(dir, 'model'), { recursive: true });

  await build({
    entryPoints: [join(ROOT, 'src/lambda/bundle-entry.ts')],
    outfile: join(dir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: opts.debug !== true,
    sourcemap: opts.debug === true ? 'linked' : false,
    legalComments: 'none',
    // fastify, pino and their dependencies are CommonJS: in an ES module they need require,
    // __filename and __dirname, which esbuild leaves to the host.
    banner: {
      js: [
        "import { createRequire as __ferryCreateRequire } from 'node:module';",
        "import { fileURLToPath as __ferryFileURLToPath } from 'node:url';",
        "import { dirname as __ferryDirname } from 'node:path';",
        'const require = __ferryCreateRequire(import.meta.url);',
        'const __filename = __ferryFileURLToPath(import.meta.url);',
        'const __dirname = __ferryDirname(__filename);',
      ].join('\n'),
    },
    // Native and optional: an onnx model needs onnxruntime-node in a layer (docs/deployment/lambda.md).
    external: ['onnxruntime-node', '@resvg/resvg-js'],
    plugins: [
      {
        // src/core/version.ts reads ../../package.json beside itself, which a function's package does
        // not have (/var/task/index.mjs): the bundle gets the version as a constant instead.
        name: 'ferry-version',
        setup(b) {
          b.onLoad({ filter: /[\\/]src[\\/]core[\\/]version\.ts$/ }, () => ({
            contents: `export const FERRY_VERSION = ${JSON.stringify(FERRY_VERSION)};`,
            loader: 'ts',
          }));
        },
      },
    ],
    logLevel: 'warning',
  });

  let manifest: BundledModelManifest | null = null;
  const files = ['index.mjs'];
  if (opts.modelFile !== false) {
    const source =
      opts.modelFile !== undefined
        ? {
            bytes: new Uint8Array(await readFile(opts.modelFile)),
            manifest: {
              name: opts.name ?? DEFAULT_MODEL_NAME,
              version: opts.version ?? 1,
              kind: opts.kind ?? 'text-classifier',
              signature: null,
              params: {},
              metrics: {},
              dataset: {},
              createdAt: new Date().toISOString(),
            },
          }
        : opts.modelRef !== undefined
          ? await registryModel(opts.modelRef)
          : await sampleModel();
    manifest = {
      format: MANIFEST_FORMAT,
      artifact: 'model.bin',
      ...source.manifest,
      sha256: sha256Hex(source.bytes),
      size: source.bytes.length,
    };
    await writeFile(join(dir, 'model', 'model.bin'), source.bytes);
    await writeFile(join(dir, 'model', MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    files.push('model/model.bin', `model/${MANIFEST_FILE}`);
  }
  if (opts.debug === true) files.push('index.mjs.map');

  try {
    // -X: no extra file attributes, so the same files give the same archive.
    execFileSync('zip', ['-q', '-9', '-X', '-r', zip, ...files], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT')
      throw new Error('the `zip` command is not installed (apt-get install zip): it makes function.zip');
    throw e;
  }
  return {
    dir,
    zip,
    handlerBytes: (await stat(join(dir, 'index.mjs'))).size,
    modelBytes: manifest?.size ?? 0,
    rawBytes: await dirBytes(dir, files),
    zipBytes: (await stat(zip)).size,
    manifest,
  };
}

function mb(n: number): string {
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      'model-file': { type: 'string' },
      model: { type: 'string' },
      'no-model': { type: 'boolean', default: false },
      kind: { type: 'string' },
      name: { type: 'string' },
      version: { type: 'string' },
      debug: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const r = await buildLambda({
    out: values.out,
    modelFile: values['no-model'] ? false : values['model-file'],
    modelRef: values.model,
    kind: values.kind,
    name: values.name,
    version: values.version === undefined ? undefined : Number(values.version),
    debug: values.debug,
  });
  if (values.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  else
    process.stdout.write(
      [
        `handler  ${relative(process.cwd(), join(r.dir, 'index.mjs'))}  ${mb(r.handlerBytes)}`,
        r.manifest
          ? `model    ${r.manifest.name}/${r.manifest.version} (${r.manifest.kind}, sha256 ${r.manifest.sha256.slice(0, 12)}…)  ${mb(r.modelBytes)}`
          : 'model    none (set FERRY_LAMBDA_MODEL_URL and FERRY_LAMBDA_MODEL_SHA256)',
        `raw      ${mb(r.rawBytes)}`,
        `zipped   ${relative(process.cwd(), r.zip)}  ${mb(r.zipBytes)}`,
        '',
      ].join('\n'),
    );
}
