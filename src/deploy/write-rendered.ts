import { chmod, lstat, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, posix, relative, resolve, sep } from 'node:path';
import { ErrorCode, FerryError } from '../core/errors.js';
import type { RenderedFile } from './deploy-types.js';

export interface WriteRenderedOptions {
  /** Write into a directory that holds other files too (only the rendered files are replaced). */
  force?: boolean;
}

const SYSTEM_ROOTS = ['/proc', '/sys', '/dev'];

function refuse(message: string, out: string): FerryError {
  return new FerryError(ErrorCode.DEPLOY_OUTPUT, message, { details: { out } });
}

/** A rendered path must stay inside the output directory: relative, `/`-separated, no `..`. */
export function checkRenderedPath(path: string): void {
  const normal = posix.normalize(path);
  if (
    path === '' ||
    path.startsWith('/') ||
    normal !== path ||
    normal.split('/').includes('..') ||
    path.includes('\\')
  )
    throw new FerryError(ErrorCode.INTERNAL, `a renderer produced an unsafe path ${JSON.stringify(path)}`);
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out.push(relative(dir, full).split(sep).join('/'));
    }
  };
  await walk(dir);
  return out.sort();
}

async function existingKind(path: string): Promise<'missing' | 'dir' | 'other'> {
  try {
    return (await lstat(path)).isDirectory() ? 'dir' : 'other';
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return 'missing';
    throw e;
  }
}

/**
 * Writes the files of one target into `out`, all or nothing: they are written first into a
 * staging directory beside `out` (same file system), then renamed into place. An `out` that holds
 * anything besides these files is refused unless `force`, so a typo in `--out` never mixes
 * manifests into an unrelated folder.
 */
export async function writeRendered(
  out: string,
  files: readonly RenderedFile[],
  opts: WriteRenderedOptions = {},
): Promise<string[]> {
  const root = resolve(out);
  if (SYSTEM_ROOTS.some((r) => root === r || root.startsWith(`${r}/`)))
    throw refuse(`--out ${out}: refusing to write under ${root.split('/').slice(0, 2).join('/')}`, out);
  for (const f of files) checkRenderedPath(f.path);
  const kind = await existingKind(root);
  if (kind === 'other') throw refuse(`--out ${out}: exists and is not a directory`, out);
  if (kind === 'dir' && !opts.force) {
    const ours = new Set(files.map((f) => f.path));
    const others = (await filesUnder(root)).filter((p) => !ours.has(p));
    if (others.length > 0) {
      const shown =
        others.slice(0, 5).join(', ') + (others.length > 5 ? `, … (${others.length} in all)` : '');
      throw refuse(
        `--out ${out}: the directory holds other files (${shown}); choose an empty directory or pass --force to write beside them`,
        out,
      );
    }
  }
  // Each rendered file must land on a file or nothing, never on a directory.
  for (const f of files) {
    if ((await existingKind(join(root, f.path))) === 'dir')
      throw refuse(`--out ${out}: ${f.path} is a directory`, out);
  }
  await mkdir(dirname(root), { recursive: true });
  const staging = await mkdtemp(join(dirname(root), '.ferry-deploy-'));
  try {
    for (const f of files) {
      const target = join(staging, f.path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, f.content);
      await chmod(target, f.mode ?? 0o644);
    }
    for (const f of files) {
      const target = join(root, f.path);
      await mkdir(dirname(target), { recursive: true });
      await rename(join(staging, f.path), target);
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return files.map((f) => join(root, f.path));
}
