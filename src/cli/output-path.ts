import { constants, type Stats } from 'node:fs';
import { access, lstat, realpath, stat } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { sqliteFileOf } from '../app/backends.js';
import { ErrorCode, FerryError } from '../core/errors.js';

/**
 * Kernel pseudo-filesystems: writing there is never what a user means, and Node 20's recursive
 * mkdir under /proc never returns (it spins at 100 % CPU), so they are refused before any mkdir.
 */
const SYSTEM_ROOTS = ['/proc', '/sys', '/dev'] as const;

export interface OutputPathOptions {
  /** The flag that named the path, for the message (`--rejects-fp`). */
  flag: string;
  /** Files this command reads (or writes in place, e.g. a SQLite database): the output must be none of them. */
  inputs?: readonly (string | undefined)[];
}

function refuse(flag: string, path: string, why: string): FerryError {
  return new FerryError(ErrorCode.CLI_OUTPUT_PATH, `${flag} ${path}: ${why}`, {
    details: { flag, path },
  });
}

function errno(e: unknown): string | undefined {
  return (e as { code?: string } | null)?.code;
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    // ENOTDIR: a component of the path is a file; the walk up finds which.
    if (errno(e) === 'ENOENT' || errno(e) === 'ENOTDIR') return undefined;
    throw e;
  }
}

function underSystemRoot(path: string): string | undefined {
  return SYSTEM_ROOTS.find((root) => path === root || path.startsWith(`${root}${sep}`));
}

async function canWrite(path: string, mode: number): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** Same file: same device and inode (covers symlinks and hard links), else the same real path. */
async function sameFile(a: Stats, inputPath: string): Promise<boolean> {
  try {
    const b = await stat(inputPath);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false; // an input that does not exist cannot be overwritten
  }
}

/**
 * Checks, before any work, that a file this command will write can be written where it is named,
 * and returns its absolute path. Refused (FERRY_CLI_OUTPUT_PATH, exit 2): an empty path, a path
 * under /proc, /sys or /dev (also through a symlink), a directory, a dangling symlink, anything but
 * a regular file, one of the command's inputs (same file, whatever the spelling), a parent that is
 * a file, and a file or nearest existing directory this process may not write. Nothing is
 * created: the nearest existing ancestor is found with lstat, walking up, never with mkdir.
 */
export async function validateOutputPath(path: string, opts: OutputPathOptions): Promise<string> {
  const { flag } = opts;
  if (path.trim() === '') throw refuse(flag, JSON.stringify(path), 'the path is empty');
  const full = resolve(path);
  const lexicalRoot = underSystemRoot(full);
  if (lexicalRoot) throw refuse(flag, full, `refusing to write under ${lexicalRoot}`);

  const own = await lstatOrUndefined(full);
  if (own !== undefined) {
    let target = own;
    if (own.isSymbolicLink()) {
      try {
        target = await stat(full);
      } catch {
        throw refuse(flag, full, 'a dangling symbolic link (its target does not exist)');
      }
      const real = await realpath(full);
      const root = underSystemRoot(real);
      if (root) throw refuse(flag, full, `a link to ${real}, under ${root}`);
    }
    if (target.isDirectory()) throw refuse(flag, full, 'a directory, not a file');
    if (!target.isFile()) throw refuse(flag, full, 'not a regular file');
    for (const input of opts.inputs ?? []) {
      if (input !== undefined && (await sameFile(target, resolve(input)))) {
        throw refuse(flag, full, `the same file as the input ${resolve(input)}; it would be replaced`);
      }
    }
    if (!(await canWrite(full, constants.W_OK))) throw refuse(flag, full, 'the file is not writable');
    // The rejects file is written beside it and renamed over it: the directory must be writable too.
    const dir = dirname(await realpath(full));
    if (!(await canWrite(dir, constants.W_OK | constants.X_OK))) {
      throw refuse(flag, full, `its directory ${dir} is not writable`);
    }
    return full;
  }

  // The file does not exist: find the nearest existing ancestor; it must be a writable directory.
  let ancestor = dirname(full);
  for (;;) {
    const st = await lstatOrUndefined(ancestor);
    if (st !== undefined) {
      let target = st;
      if (st.isSymbolicLink()) {
        try {
          target = await stat(ancestor);
        } catch {
          throw refuse(flag, full, `its parent ${ancestor} is a dangling symbolic link`);
        }
      }
      if (!target.isDirectory())
        throw refuse(flag, full, `its parent ${ancestor} is a file, not a directory`);
      const real = await realpath(ancestor);
      const root = underSystemRoot(real);
      if (root) throw refuse(flag, full, `its directory ${ancestor} is under ${root}`);
      if (!(await canWrite(real, constants.W_OK | constants.X_OK))) {
        throw refuse(flag, full, `the directory ${ancestor} is not writable`);
      }
      return full;
    }
    const up = dirname(ancestor);
    if (up === ancestor) throw refuse(flag, full, 'no existing directory above it');
    ancestor = up;
  }
}

/** An fs error met while writing an output file (after validation: a race, a full disk) as a FerryError. */
export function outputWriteError(flag: string, path: string, e: unknown): FerryError {
  if (e instanceof FerryError) return e;
  const why = e instanceof Error ? e.message : String(e);
  return new FerryError(ErrorCode.CLI_OUTPUT_PATH, `${flag} ${path}: cannot write it: ${why}`, {
    details: { flag, path, code: errno(e) ?? null },
    cause: e,
  });
}

/**
 * `--results-fp` of train and evaluate, checked before training or evaluating (so that, with
 * `train --promote`, a bad path fails before production moves). Its inputs: the dataset (when a
 * local file) and the registry's SQLite database.
 */
export async function validateResultsPath(
  path: string | undefined,
  config: { readonly datasetLoc?: string | undefined; readonly db: string },
): Promise<void> {
  if (path === undefined) return;
  const loc = config.datasetLoc;
  const dataset = loc === undefined || /^https?:\/\//i.test(loc) ? undefined : loc;
  await validateOutputPath(path, { flag: '--results-fp', inputs: [dataset, sqliteFileOf(config.db)] });
}
