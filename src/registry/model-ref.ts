import { ErrorCode, FerryError } from '../core/errors.js';

/** The alias a bare model name means. */
export const DEFAULT_ALIAS = 'production';

/** `name@alias` or `name/version`; a bare `name` parses as `name@production`. */
export type ModelRef =
  | { name: string; alias: string; version?: undefined }
  | { name: string; version: number; alias?: undefined };

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const VERSION = /^[1-9][0-9]*$/;
const ALL_DIGITS = /^[0-9]+$/;

/**
 * The largest version number: versions are 32-bit signed integers in the registry's tables
 * (PostgreSQL's INTEGER), so anything larger is refused at the edge with a stable error instead of
 * reaching the database as an overflow.
 */
export const MAX_VERSION = 2_147_483_647;

/** A version number Ferry can store: an integer in [1, MAX_VERSION]. */
export function isValidVersion(version: unknown): version is number {
  return typeof version === 'number' && Number.isInteger(version) && version >= 1 && version <= MAX_VERSION;
}

/** Parses the decimal text of a version (a URL segment, a CLI argument); undefined when invalid or out of range. */
export function parseVersionText(text: string): number | undefined {
  if (!VERSION.test(text) || text.length > 10) return undefined;
  const version = Number(text);
  return isValidVersion(version) ? version : undefined;
}

export function isValidModelName(name: string): boolean {
  return NAME.test(name);
}

/** Same charset as names, but never all digits, so `name@3` cannot be mistaken for version 3. */
export function isValidAlias(alias: string): boolean {
  return NAME.test(alias) && !ALL_DIGITS.test(alias);
}

export function assertModelName(name: string): void {
  if (typeof name !== 'string' || !isValidModelName(name)) {
    throw new FerryError(
      ErrorCode.REGISTRY_INVALID_NAME,
      `invalid model name ${JSON.stringify(name)}: use 1-63 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit`,
      { details: { name } },
    );
  }
}

export function assertAlias(alias: string): void {
  if (typeof alias !== 'string' || !isValidAlias(alias)) {
    throw new FerryError(
      ErrorCode.REGISTRY_INVALID_NAME,
      `invalid alias ${JSON.stringify(alias)}: use 1-63 lower-case letters, digits, '.', '_' or '-', not only digits`,
      { details: { alias } },
    );
  }
}

export function assertVersion(version: number): void {
  if (!isValidVersion(version)) {
    throw new FerryError(
      ErrorCode.REGISTRY_INVALID_REF,
      `invalid version ${String(version)}: use an integer from 1 to ${MAX_VERSION}`,
      {
        details: { version },
      },
    );
  }
}

export function parseModelRef(ref: string): ModelRef {
  if (typeof ref !== 'string') throw invalidRef(String(ref), 'a model reference must be a string');
  const at = ref.indexOf('@');
  const slash = ref.indexOf('/');
  if (at !== -1 && slash !== -1) throw invalidRef(ref, 'use either name@alias or name/version, not both');
  if (at !== -1) {
    const name = checkedName(ref, ref.slice(0, at));
    const alias = ref.slice(at + 1);
    if (alias === '') throw invalidRef(ref, 'the alias after "@" is empty');
    if (ALL_DIGITS.test(alias))
      throw invalidRef(ref, `an alias cannot be all digits; did you mean ${name}/${alias}?`);
    if (!isValidAlias(alias)) throw invalidRef(ref, `invalid alias ${JSON.stringify(alias)}`);
    return { name, alias };
  }
  if (slash !== -1) {
    const name = checkedName(ref, ref.slice(0, slash));
    const digits = ref.slice(slash + 1);
    const version = parseVersionText(digits);
    if (version === undefined) {
      throw invalidRef(
        ref,
        `the version after "/" must be an integer from 1 to ${MAX_VERSION}, got ${JSON.stringify(digits)}`,
      );
    }
    return { name, version };
  }
  return { name: checkedName(ref, ref), alias: DEFAULT_ALIAS };
}

export function formatModelRef(ref: ModelRef): string {
  return ref.version === undefined ? `${ref.name}@${ref.alias}` : `${ref.name}/${ref.version}`;
}

function checkedName(ref: string, name: string): string {
  if (name === '') throw invalidRef(ref, 'the model name is empty');
  if (!isValidModelName(name)) {
    throw invalidRef(
      ref,
      `invalid model name ${JSON.stringify(name)}: use lower-case letters, digits, '.', '_' or '-'`,
    );
  }
  return name;
}

function invalidRef(ref: string, reason: string): FerryError {
  return new FerryError(
    ErrorCode.REGISTRY_INVALID_REF,
    `invalid model reference ${JSON.stringify(ref)}: ${reason} (expected name, name@alias or name/version)`,
    { details: { ref } },
  );
}
