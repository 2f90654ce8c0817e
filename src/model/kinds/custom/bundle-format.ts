/*
 * A custom model's artifact: a JSON document of data only, the module and the files beside it, so
 * the registry stores, hashes and verifies it like any other artifact:
 *
 *   { "format": "ferry-custom-model", "formatVersion": 1, "entry": "model.mjs",
 *     "files": { "<relative path>": "<base64>" } }
 */

export const BUNDLE_FORMAT = 'ferry-custom-model';
export const BUNDLE_FORMAT_VERSION = 1;
/** The files' total size, decoded. */
export const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;
export const MAX_BUNDLE_FILES = 10_000;
/** The entry module names looked for, in this order, when a directory is bundled without one. */
export const ENTRY_CANDIDATES = ['model.mjs', 'model.js', 'index.mjs', 'index.js'] as const;

const MAX_PATH_BYTES = 1024;

/**
 * Why `path` cannot name a file of a bundle, or undefined when it can: relative, `/`-separated,
 * no empty, `.` or `..` segment (nothing can point outside the bundle's directory), no backslash,
 * no NUL, no hidden segment (dot files are never bundled: `.env`, `.git`).
 */
export function bundlePathProblem(path: string): string | undefined {
  if (path === '' || Buffer.byteLength(path) > MAX_PATH_BYTES)
    return `must have 1 to ${MAX_PATH_BYTES} bytes`;
  if (path.includes('\0') || path.includes('\\')) return 'must not hold NUL or a backslash';
  if (path.startsWith('/')) return 'must be relative';
  for (const segment of path.split('/')) {
    if (segment === '') return 'must not have an empty segment';
    if (segment === '..' || segment === '.') return 'must not have a "." or ".." segment';
    if (segment.startsWith('.')) return 'must not name a hidden file';
  }
  return undefined;
}

/** Whether the entry is an ES module file name Ferry imports (.mjs, or .js read as ESM). */
export function isModuleFile(path: string): boolean {
  return path.endsWith('.mjs') || path.endsWith('.js');
}
