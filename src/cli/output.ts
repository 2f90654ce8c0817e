import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { CommanderError } from 'commander';
import { describeRegistry, loadConfig } from '../core/config.js';
import { ErrorCode, FerryError, isFerryError, toFerryError } from '../core/errors.js';
import { readSetting } from '../core/settings/read-settings.js';
import { outputWriteError } from './output-path.js';

/** `ferry train --promote --fail-if-not-promoted`: registered, but the gate kept the alias where it was. */
export const EXIT_NOT_PROMOTED = 3;

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes JSON to a path checked beforehand with validateOutputPath; a failure is FERRY_CLI_OUTPUT_PATH. */
export async function writeJsonFile(path: string, value: unknown, flag = '--results-fp'): Promise<string> {
  const full = resolve(path);
  try {
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, `${JSON.stringify(value, null, 2)}\n`);
  } catch (e) {
    throw outputWriteError(flag, full, e);
  }
  return full;
}

/** Codes that mean the command line is wrong: exit 2. */
const USAGE_CODES: ReadonlySet<string> = new Set([
  ErrorCode.CLI_USAGE,
  ErrorCode.CLI_OUTPUT_PATH,
  ErrorCode.OPTIMIZE_INVALID,
  ErrorCode.OPTIMIZE_UNSUPPORTED,
  ErrorCode.DEPLOY_INVALID,
  ErrorCode.DEPLOY_OUTPUT,
]);

/** Prints an error as one clear line (or JSON with --json) and returns the exit code; never a stack. */
export function reportError(e: unknown, json: boolean): number {
  const err = toFerryError(e);
  if (json) process.stderr.write(`${JSON.stringify(err.toJSON())}\n`);
  else process.stderr.write(`ferry: error ${err.code}: ${err.message}\n`);
  if (err.code === ErrorCode.INTERNAL && debugEnabled())
    process.stderr.write(`${String((err.cause as Error)?.stack)}\n`);
  // Exit 2: the command line is wrong (a bad flag value, an output path that cannot be written).
  return USAGE_CODES.has(err.code) ? 2 : 1;
}

/**
 * FERRY_DEBUG, read while an error is being reported, so it cannot throw: a value that is not a
 * clear on/off keeps its old meaning (any value turned the stacks on).
 */
function debugEnabled(): boolean {
  try {
    return readSetting(process.env, 'FERRY_DEBUG');
  } catch {
    return true;
  }
}

export function usageError(message: string): FerryError {
  return new FerryError(ErrorCode.CLI_USAGE, message);
}

/** Commander's exits that are answers (help, version), not errors: commander printed them already. */
const COMMANDER_ANSWERS: ReadonlySet<string> = new Set([
  'commander.helpDisplayed',
  'commander.help',
  'commander.version',
]);

/**
 * Commander's own usage errors (unknown option or command, missing argument, required option, an
 * option value its parser refused) are reported like Ferry's: `ferry: error FERRY_CLI_USAGE: …`
 * (or JSON), exit 2. Help and version exit 0, or 2 when commander showed help for a missing command.
 */
export function reportCommanderError(e: CommanderError, json: boolean): number {
  if (COMMANDER_ANSWERS.has(e.code)) return e.exitCode === 0 ? 0 : 2;
  return reportError(usageError(e.message.replace(/^error: /, '')), json);
}

export function fmt(n: unknown, digits = 4): string {
  return typeof n === 'number' ? n.toFixed(digits) : String(n ?? '-');
}

/** Codes that mean "the registry's database has no such thing": their messages name the registry. */
const REGISTRY_NOT_FOUND_CODES: ReadonlySet<string> = new Set([
  ErrorCode.REGISTRY_NOT_FOUND,
  ErrorCode.EXPERIMENT_NOT_FOUND,
  ErrorCode.BATCH_JOB_NOT_FOUND,
  ErrorCode.BATCH_NOT_FOUND,
]);

/**
 * Adds where the CLI looked (`registry: sqlite:/…/.ferry/ferry.db`) to a not-found error, so a user
 * in the wrong directory or with another FERRY_HOME sees why. Only the CLI does this: HTTP clients
 * are never told internal paths.
 */
export function withRegistryLocation(e: unknown, env: NodeJS.ProcessEnv = process.env): unknown {
  if (!isFerryError(e) || !REGISTRY_NOT_FOUND_CODES.has(e.code)) return e;
  let location: string;
  try {
    location = describeRegistry(loadConfig(env));
  } catch {
    return e; // a configuration error is reported on its own by the command that hit it
  }
  return new FerryError(e.code, `${e.message} (registry: ${location})`, {
    details: { ...e.details, registry: location },
    cause: e.cause,
  });
}
