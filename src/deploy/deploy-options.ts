import { ErrorCode, FerryError } from '../core/errors.js';
import { SETTINGS } from '../core/settings/catalogue.js';
import { parseModelRef } from '../registry/model-ref.js';
import { DEPLOY_TARGETS, type DeployParams, type DeployTarget, type SecretRef } from './deploy-types.js';
import { cpuMillis, memoryBytes } from './quantities.js';

/** The flags of `ferry deploy render`, as commander gives them (strings, all optional). */
export interface RawDeployFlags {
  model?: string;
  image?: string;
  replicas?: string;
  cpu?: string;
  memory?: string;
  namespace?: string;
  port?: string;
  name?: string;
  dbSecret?: string;
  tokenSecret?: string;
  shutdownTimeoutMs?: string;
}

function invalid(message: string, flag: string): FerryError {
  return new FerryError(ErrorCode.DEPLOY_INVALID, `${flag}: ${message}`, { details: { flag } });
}

export function parseDeployTarget(text: string): DeployTarget {
  if ((DEPLOY_TARGETS as readonly string[]).includes(text)) return text as DeployTarget;
  throw new FerryError(
    ErrorCode.DEPLOY_INVALID,
    `unknown deploy target ${JSON.stringify(text.slice(0, 64))}; the targets are ${DEPLOY_TARGETS.join(', ')}`,
    { details: { flag: '<target>' } },
  );
}

/** DNS-1123 label: what Kubernetes accepts as a namespace or a Service name. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** DNS-1123 subdomain (Secret names). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;
/**
 * An image reference `[registry[:port]/]path[:tag][@sha256:digest]`, lower-case path components;
 * deliberately narrower than the full grammar so nothing odd reaches YAML or a shell.
 */
const IMAGE =
  /^(?:[a-zA-Z0-9.-]+(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

function integerIn(text: string, flag: string, min: number, max: number): number {
  if (!/^[0-9]{1,10}$/.test(text))
    throw invalid(`expected an integer in [${min}, ${max}], got ${JSON.stringify(text.slice(0, 32))}`, flag);
  const n = Number(text);
  if (n < min || n > max) throw invalid(`expected an integer in [${min}, ${max}], got ${n}`, flag);
  return n;
}

function secretRef(text: string, flag: string): SecretRef {
  const colon = text.indexOf(':');
  const name = colon === -1 ? text : text.slice(0, colon);
  const key = colon === -1 ? '' : text.slice(colon + 1);
  if (!DNS_SUBDOMAIN.test(name) || !SECRET_KEY.test(key))
    throw invalid(
      `expected <secret-name>:<key> (a DNS-1123 name, then [-._a-zA-Z0-9]+), got ${JSON.stringify(text.slice(0, 64))}`,
      flag,
    );
  return { name, key };
}

function cpu(text: string): string {
  const millis = cpuMillis(text);
  if (millis === undefined)
    throw invalid(
      `expected cores (1, 0.5) or millicores (500m), got ${JSON.stringify(text.slice(0, 32))}`,
      '--cpu',
    );
  if (!(millis >= 50 && millis <= 64_000))
    throw invalid(`expected from 50m to 64 cores, got ${text}`, '--cpu');
  return text;
}

function memory(text: string): string {
  const bytes = memoryBytes(text);
  if (bytes === undefined)
    throw invalid(
      `expected a quantity like 512Mi or 1Gi, got ${JSON.stringify(text.slice(0, 32))}`,
      '--memory',
    );
  // Below 128 MiB Node and the model do not fit; above 256 GiB is a typo.
  if (!(bytes >= 128 * 1024 ** 2 && bytes <= 256 * 1024 ** 3))
    throw invalid(`expected from 128Mi to 256Gi, got ${text}`, '--memory');
  return text;
}

/** Flags to checked parameters; every refusal is FERRY_DEPLOY_INVALID naming the flag (exit 2). */
export function parseDeployOptions(flags: RawDeployFlags, ferryVersion: string): DeployParams {
  const ref = parseModelRef(flags.model ?? 'tagifai@production');
  if (ref.alias === undefined)
    throw invalid(
      'a deployment follows an alias (name@alias), not a fixed version; point an alias at the version first',
      '--model',
    );
  const appName = flags.name ?? 'ferry';
  if (!DNS_LABEL.test(appName) || appName.length > 40)
    throw invalid(
      `expected a DNS-1123 label of at most 40 characters, got ${JSON.stringify(appName.slice(0, 64))}`,
      '--name',
    );
  const namespace = flags.namespace ?? 'ferry';
  if (!DNS_LABEL.test(namespace))
    throw invalid(`expected a DNS-1123 label, got ${JSON.stringify(namespace.slice(0, 64))}`, '--namespace');
  const image = flags.image ?? `ferry:${ferryVersion}`;
  if (image.length > 255 || !IMAGE.test(image))
    throw invalid(
      `expected an image reference like ghcr.io/acme/ferry:0.1.0, got ${JSON.stringify(image.slice(0, 64))}`,
      '--image',
    );
  return {
    appName,
    model: { name: ref.name, alias: ref.alias },
    image,
    replicas: integerIn(flags.replicas ?? '2', '--replicas', 1, 1000),
    cpu: cpu(flags.cpu ?? '1'),
    memory: memory(flags.memory ?? '512Mi'),
    namespace,
    port: integerIn(flags.port ?? '8000', '--port', 1, 65535),
    databaseSecret: secretRef(flags.dbSecret ?? 'ferry-db:url', '--db-secret'),
    tokenSecret: secretRef(flags.tokenSecret ?? 'ferry-admin:token', '--token-secret'),
    shutdownTimeoutMs: integerIn(
      flags.shutdownTimeoutMs ?? String(SETTINGS.FERRY_SHUTDOWN_TIMEOUT_MS.default),
      '--shutdown-timeout-ms',
      100,
      600_000,
    ),
    ferryVersion,
  };
}
