/**
 * The `remote-v2` artifact: a small JSON document of data only that says where a model already
 * served by an Open Inference Protocol v2 server lives. No code, no credentials: the URL is the
 * operator's configuration and is refused when it carries a user or password (a registry row is not
 * a secret store, and the URL shows in `ferry models show`).
 */
import { boundedInteger, invalidArtifact, isJsonObject, ownField } from '../../artifact-fields.js';

const REMOTE_V2_FORMAT = 'ferry-remote-v2';
const FORMAT_VERSION = 1;

const MAX_URL_LENGTH = 2048;
const MAX_NAME_LENGTH = 256;
const MAX_ARTIFACT_BYTES = 16 * 1024;

/** Bounds of the per-artifact settings (ms, counts): wide enough for any real remote, small enough to stay sane. */
const TIMEOUT_MS_RANGE = [1, 600_000] as const;
const BREAKER_FAILURES_RANGE = [1, 1000] as const;
const BREAKER_RESET_MS_RANGE = [100, 3_600_000] as const;
const DEFAULT_BREAKER_FAILURES = 5;
const DEFAULT_BREAKER_RESET_MS = 30_000;

export interface RemoteV2Options {
  /** The server's base URL (`http(s)://host[:port][/prefix]`); `/v2/models/...` is appended. */
  readonly url: string;
  /** The model's name on that server. */
  readonly model: string;
  /** The model's version on that server; the server picks one when absent. */
  readonly version?: string | undefined;
  /** Per-call timeout; the serving call timeout when absent. */
  readonly timeoutMs?: number | undefined;
  /** Consecutive failed calls that open the circuit breaker (default 5). */
  readonly breakerFailures?: number | undefined;
  /** How long the breaker stays open before one trial call is let through (default 30 s). */
  readonly breakerResetMs?: number | undefined;
}

export interface RemoteV2Artifact {
  readonly url: string;
  readonly model: string;
  readonly version: string | undefined;
  readonly timeoutMs: number | undefined;
  readonly breakerFailures: number;
  readonly breakerResetMs: number;
}

/**
 * A name as it goes into one URL path segment (`/v2/models/{name}/versions/{version}`): non-empty,
 * bounded, printable, no `/` (it would change the path) and not `.` or `..` (which URL parsers
 * resolve away). It is percent-encoded when the URL is built, so other characters are safe.
 */
function pathSegmentProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return 'must be a non-empty string';
  if (value.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
  if (/[\u0000-\u001f\u007f/\\]/.test(value)) return 'must not hold "/", "\\" or control characters';
  if (value.trim() !== value) return 'must not start or end with white space';
  if (value === '.' || value === '..') return 'must not be "." or ".."';
  return undefined;
}

function urlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' || value === '') return 'must be a non-empty string';
  if (value.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  if (url.username !== '' || url.password !== '') return 'must not hold credentials (user:password@)';
  if (url.search !== '' || url.hash !== '') return 'must not hold a query or a fragment';
  return undefined;
}

function optionalBounded(
  value: unknown,
  field: string,
  [min, max]: readonly [number, number],
): number | undefined {
  return value === undefined ? undefined : boundedInteger(value, field, min, max);
}

/** Checks the fields of a document or of options; MODEL_INVALID_ARTIFACT naming the first bad one. */
function checkFields(fields: (key: string) => unknown): RemoteV2Artifact {
  const url = fields('url');
  const urlWhy = urlProblem(url);
  if (urlWhy) throw invalidArtifact(`remote-v2 url ${urlWhy}`);
  const model = fields('model');
  const modelWhy = pathSegmentProblem(model);
  if (modelWhy) throw invalidArtifact(`remote-v2 model ${modelWhy}`);
  const version = fields('version');
  const versionWhy = version === undefined ? undefined : pathSegmentProblem(version);
  if (versionWhy) throw invalidArtifact(`remote-v2 version ${versionWhy}`);
  return {
    // Without its trailing slashes, so that appending `/v2/...` gives one slash.
    url: (url as string).replace(/\/+$/, ''),
    model: model as string,
    version: version as string | undefined,
    timeoutMs: optionalBounded(fields('timeoutMs'), 'remote-v2 timeoutMs', TIMEOUT_MS_RANGE),
    breakerFailures:
      optionalBounded(fields('breakerFailures'), 'remote-v2 breakerFailures', BREAKER_FAILURES_RANGE) ??
      DEFAULT_BREAKER_FAILURES,
    breakerResetMs:
      optionalBounded(fields('breakerResetMs'), 'remote-v2 breakerResetMs', BREAKER_RESET_MS_RANGE) ??
      DEFAULT_BREAKER_RESET_MS,
  };
}

/** The artifact bytes for a remote model; throws MODEL_INVALID_ARTIFACT on a bad option. */
export function remoteV2Artifact(opts: RemoteV2Options): Uint8Array {
  const checked = checkFields((key) => (opts as unknown as Record<string, unknown>)[key]);
  const doc = {
    format: REMOTE_V2_FORMAT,
    formatVersion: FORMAT_VERSION,
    url: checked.url,
    model: checked.model,
    ...(checked.version !== undefined ? { version: checked.version } : {}),
    ...(checked.timeoutMs !== undefined ? { timeoutMs: checked.timeoutMs } : {}),
    ...(opts.breakerFailures !== undefined ? { breakerFailures: checked.breakerFailures } : {}),
    ...(opts.breakerResetMs !== undefined ? { breakerResetMs: checked.breakerResetMs } : {}),
  };
  return new TextEncoder().encode(JSON.stringify(doc));
}

const KNOWN_FIELDS = new Set([
  'format',
  'formatVersion',
  'url',
  'model',
  'version',
  'timeoutMs',
  'breakerFailures',
  'breakerResetMs',
]);

/** Reads an artifact; MODEL_INVALID_ARTIFACT when it is not a remote-v2 document of a known version. */
export function parseRemoteV2Artifact(bytes: Uint8Array): RemoteV2Artifact {
  if (bytes.byteLength > MAX_ARTIFACT_BYTES) {
    throw invalidArtifact(`a remote-v2 artifact is at most ${MAX_ARTIFACT_BYTES} bytes`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw invalidArtifact('a remote-v2 artifact must be UTF-8 JSON');
  }
  if (!isJsonObject(doc) || ownField(doc, 'format') !== REMOTE_V2_FORMAT) {
    throw invalidArtifact(`not a ${REMOTE_V2_FORMAT} document`);
  }
  if (ownField(doc, 'formatVersion') !== FORMAT_VERSION) {
    throw invalidArtifact(`${REMOTE_V2_FORMAT} formatVersion must be ${FORMAT_VERSION}`);
  }
  const unknown = Object.keys(doc).find((k) => !KNOWN_FIELDS.has(k));
  if (unknown !== undefined)
    throw invalidArtifact(`unknown remote-v2 field ${JSON.stringify(unknown.slice(0, 64))}`);
  return checkFields((key) => ownField(doc, key));
}
