import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { ErrorCode, FerryError } from '../../../core/errors.js';
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  bundlePathProblem,
  ENTRY_CANDIDATES,
  isModuleFile,
  MAX_BUNDLE_BYTES,
  MAX_BUNDLE_FILES,
} from './bundle-format.js';

export interface BundleOptions {
  /** The entry module, relative to the directory; default: the first of model.mjs, model.js, index.mjs, index.js. */
  readonly entry?: string;
}

function refused(message: string): FerryError {
  return new FerryError(ErrorCode.MODEL_LOAD_FAILED, `cannot bundle the custom model: ${message}`);
}

/** Bytes read so far, checked against the limit before each file is read. */
class Budget {
  private bytes = 0;
  private files = 0;
  take(size: number, what: string): void {
    this.bytes += size;
    this.files += 1;
    if (this.bytes > MAX_BUNDLE_BYTES) {
      throw refused(
        `over ${MAX_BUNDLE_BYTES / 1024 / 1024} MiB at ${what}; bundle your code into one file (esbuild) and keep large weights lean`,
      );
    }
    if (this.files > MAX_BUNDLE_FILES) throw refused(`more than ${MAX_BUNDLE_FILES} files`);
  }
}

/**
 * The directory's files by relative path. Hidden entries (`.git`, `.env`) are skipped. A symbolic
 * link is followed when it points at a file inside the directory and refused otherwise (a link
 * out of it, or to a directory, which could loop).
 */
async function collect(root: string, realRoot: string, budget: Budget): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = join(dir, e.name);
      const rel = relative(root, full).split(sep).join('/');
      const problem = bundlePathProblem(rel);
      if (problem) throw refused(`the path "${rel}" ${problem}`);
      if (e.isDirectory()) {
        await walk(full);
        continue;
      }
      let file = full;
      if (e.isSymbolicLink()) {
        const target = await realpath(full).catch(() => undefined);
        if (target === undefined || !target.startsWith(realRoot + sep)) {
          throw refused(`"${rel}" is a symbolic link that points outside the directory`);
        }
        file = target;
      }
      const info = await stat(file);
      if (!info.isFile()) throw refused(`"${rel}" is not a regular file`);
      budget.take(info.size, rel);
      files.set(rel, await readFile(file));
    }
  };
  await walk(root);
  return files;
}

/**
 * Packs a custom model, a single ES module file or a directory holding one and the files it
 * reads (weights, vocabularies), into the artifact the registry stores (see bundle-format.ts).
 * MODEL_LOAD_FAILED when the path cannot be bundled.
 */
export async function bundleCustomModel(path: string, opts: BundleOptions = {}): Promise<Uint8Array> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw refused(`"${path}" does not exist`);
  const budget = new Budget();
  let files: Map<string, Buffer>;
  let entry: string;
  if (info.isDirectory()) {
    files = await collect(path, await realpath(path), budget);
    if (opts.entry !== undefined) {
      const problem = bundlePathProblem(opts.entry);
      if (problem) throw refused(`the entry "${opts.entry}" ${problem}`);
      entry = opts.entry;
    } else {
      const found = ENTRY_CANDIDATES.find((c) => files.has(c));
      if (found === undefined) {
        throw refused(
          `no entry module in the directory: add one of ${ENTRY_CANDIDATES.join(', ')}, or name it`,
        );
      }
      entry = found;
    }
    if (!files.has(entry)) throw refused(`the entry "${entry}" is not a file of the directory`);
  } else if (info.isFile()) {
    entry = basename(path);
    const problem = bundlePathProblem(entry);
    if (problem) throw refused(`the file name "${entry}" ${problem}`);
    budget.take(info.size, entry);
    files = new Map([[entry, await readFile(path)]]);
  } else {
    throw refused(`"${path}" is neither a file nor a directory`);
  }
  if (!isModuleFile(entry)) throw refused(`the entry "${entry}" must be an ES module (.mjs or .js)`);
  const doc = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    entry,
    files: Object.fromEntries([...files].map(([rel, bytes]) => [rel, bytes.toString('base64')])),
  };
  return new TextEncoder().encode(JSON.stringify(doc));
}
