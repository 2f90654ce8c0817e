import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ErrorCode, FerryError, toFerryError } from '../core/errors.js';
import { outputWriteError } from './output-path.js';

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

/** Prints an error as one clear line (or JSON with --json) and returns the exit code; never a stack. */
export function reportError(e: unknown, json: boolean): number {
  const err = toFerryError(e);
  if (json) process.stderr.write(`${JSON.stringify(err.toJSON())}\n`);
  else process.stderr.write(`ferry: error ${err.code}: ${err.message}\n`);
  if (err.code === ErrorCode.INTERNAL && process.env.FERRY_DEBUG)
    process.stderr.write(`${String((err.cause as Error)?.stack)}\n`);
  // Exit 2: the command line is wrong (a bad flag value, an output path that cannot be written).
  return err.code === ErrorCode.CLI_USAGE || err.code === ErrorCode.CLI_OUTPUT_PATH ? 2 : 1;
}

export function usageError(message: string): FerryError {
  return new FerryError(ErrorCode.CLI_USAGE, message, { status: 400 });
}

export function fmt(n: unknown, digits = 4): string {
  return typeof n === 'number' ? n.toFixed(digits) : String(n ?? '-');
}
