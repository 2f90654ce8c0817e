import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, FerryError } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';
import type { Signature } from '../model/tensor.js';
import { assertModelName } from '../registry/model-ref.js';
import type { ModelVersion } from '../registry/types.js';

/** The manifest `npm run build:lambda` writes beside the artifact (`model/model.json`). */
export const MANIFEST_FORMAT = 'ferry-lambda-model/1';
export const MANIFEST_FILE = 'model.json';

export interface BundledModelManifest {
  format: typeof MANIFEST_FORMAT;
  /** The artifact's file name, in the manifest's folder. */
  artifact: string;
  name: string;
  version: number;
  kind: string;
  sha256: string;
  size: number;
  signature: Signature | null;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  dataset: Record<string, unknown>;
  createdAt: string;
}

/** Where the model of a Lambda function comes from (see lambdaModelSourceFromEnv). */
export type LambdaModelSource =
  | {
      /** A folder holding model.json and the artifact it names (the bundle's `model/`). */
      dir: string;
    }
  | {
      /** An http(s) URL of the artifact bytes (a presigned S3 URL, a release asset). */
      url: string;
      /** Required: the artifact is refused unless its sha256 (hex) is this. */
      sha256: string;
      name: string;
      kind: string;
      /** The version number the server reports (default 1). */
      version?: number;
      /** The tensors it takes and gives, when the kind cannot read them from the artifact. */
      signature?: Signature | null;
      /** How long the download may take (ms); default 60000. */
      timeoutMs?: number;
    };

/** What init loads: the version's description and its verified bytes. */
export interface BundledModel {
  version: ModelVersion;
  bytes: Uint8Array;
}

const SHA256 = /^[a-f0-9]{64}$/;

function configError(message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError(ErrorCode.CONFIG_INVALID, message, { details });
}

function mismatch(where: string, expected: string, actual: string, size: number): FerryError {
  return new FerryError(
    ErrorCode.REGISTRY_CHECKSUM_MISMATCH,
    `the model artifact from ${where} does not match its sha256: expected ${expected}, got ${actual} (${size} bytes); refusing to serve it`,
    { details: { expectedSha256: expected, actualSha256: actual, size } },
  );
}

function asVersion(
  m: Omit<BundledModelManifest, 'format' | 'artifact'>,
  location: string,
  size: number,
): ModelVersion {
  return {
    name: m.name,
    version: m.version,
    kind: m.kind,
    artifactSha256: m.sha256,
    artifactSize: size,
    artifactLocation: location,
    params: m.params,
    metrics: m.metrics,
    dataset: m.dataset,
    tags: { deployment: 'aws-lambda' },
    gitCommit: null,
    createdAt: m.createdAt,
    signature: m.signature,
    aliases: [],
  };
}

function checkManifest(value: unknown, path: string): BundledModelManifest {
  const m = value as Partial<BundledModelManifest> | null;
  const bad = (what: string) => configError(`${path}: ${what}`, { manifest: path });
  if (m === null || typeof m !== 'object' || m.format !== MANIFEST_FORMAT)
    throw bad(`not a ${MANIFEST_FORMAT} manifest`);
  if (typeof m.artifact !== 'string' || !/^[A-Za-z0-9._-]+$/.test(m.artifact) || m.artifact.startsWith('.'))
    throw bad('"artifact" must be a file name in the same folder');
  if (typeof m.name !== 'string') throw bad('"name" is missing');
  assertModelName(m.name);
  if (!Number.isSafeInteger(m.version) || (m.version ?? 0) < 1) throw bad('"version" must be an integer ≥ 1');
  if (typeof m.kind !== 'string' || m.kind === '') throw bad('"kind" is missing');
  if (typeof m.sha256 !== 'string' || !SHA256.test(m.sha256)) throw bad('"sha256" must be 64 hex digits');
  return {
    format: MANIFEST_FORMAT,
    artifact: m.artifact,
    name: m.name,
    version: m.version as number,
    kind: m.kind,
    sha256: m.sha256,
    size: typeof m.size === 'number' ? m.size : 0,
    signature: m.signature ?? null,
    params: m.params ?? {},
    metrics: m.metrics ?? {},
    dataset: m.dataset ?? {},
    createdAt: typeof m.createdAt === 'string' ? m.createdAt : new Date(0).toISOString(),
  };
}

async function fromDir(dir: string): Promise<BundledModel> {
  const manifestPath = join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (e) {
    throw new FerryError(
      ErrorCode.REGISTRY_ARTIFACT_MISSING,
      `no bundled model at ${manifestPath}: build the bundle with \`npm run build:lambda\`, or set FERRY_LAMBDA_MODEL_URL and FERRY_LAMBDA_MODEL_SHA256`,
      { cause: e, details: { path: manifestPath } },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw configError(`${manifestPath}: not JSON`, { manifest: manifestPath });
  }
  const m = checkManifest(parsed, manifestPath);
  const artifactPath = join(dir, m.artifact);
  const bytes = new Uint8Array(await readFile(artifactPath));
  // The bundle is checked like a registry artifact: a truncated upload or an edited file is refused.
  const actual = sha256Hex(bytes);
  if (actual !== m.sha256) throw mismatch(artifactPath, m.sha256, actual, bytes.length);
  return { version: asVersion(m, artifactPath, bytes.length), bytes };
}

/** The URL without its query (a presigned URL's signature must not reach logs or errors). */
function shownUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

async function fromUrl(source: Extract<LambdaModelSource, { url: string }>): Promise<BundledModel> {
  let url: URL;
  try {
    url = new URL(source.url);
  } catch {
    throw configError('FERRY_LAMBDA_MODEL_URL is not a URL', { setting: 'FERRY_LAMBDA_MODEL_URL' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw configError(`FERRY_LAMBDA_MODEL_URL must be http(s), got ${url.protocol}`, {
      setting: 'FERRY_LAMBDA_MODEL_URL',
    });
  const expected = source.sha256.toLowerCase();
  if (!SHA256.test(expected))
    throw configError(
      'FERRY_LAMBDA_MODEL_SHA256 must be the artifact’s sha256 (64 hex digits): a model fetched from a URL is only served once its checksum matches',
      { setting: 'FERRY_LAMBDA_MODEL_SHA256' },
    );
  assertModelName(source.name);
  const where = shownUrl(url);
  let bytes: Uint8Array;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(source.timeoutMs ?? 60_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new FerryError(
      ErrorCode.DATA_UNREACHABLE,
      `the model artifact at ${where} could not be downloaded: ${(e as Error).message}`,
      { cause: e, details: { url: where } },
    );
  }
  const actual = sha256Hex(bytes);
  if (actual !== expected) throw mismatch(where, expected, actual, bytes.length);
  const version = asVersion(
    {
      name: source.name,
      version: source.version ?? 1,
      kind: source.kind,
      sha256: actual,
      size: bytes.length,
      signature: source.signature ?? null,
      params: {},
      metrics: {},
      dataset: {},
      createdAt: new Date(0).toISOString(),
    },
    where,
    bytes.length,
  );
  return { version, bytes };
}

/** Reads (or downloads) the artifact and checks its sha256; every failure is a FerryError. */
export function loadBundledModel(source: LambdaModelSource): Promise<BundledModel> {
  return 'url' in source ? fromUrl(source) : fromDir(source.dir);
}
