import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sha256Hex } from '../../../core/hash.js';
import { invalidArtifact, isJsonObject, ownField } from '../../artifact-fields.js';
import {
  BUNDLE_FORMAT,
  BUNDLE_FORMAT_VERSION,
  bundlePathProblem,
  isModuleFile,
  MAX_BUNDLE_BYTES,
  MAX_BUNDLE_FILES,
} from './bundle-format.js';
import { DEFINE_MODEL_STAND_IN } from './define-model.js';

export interface UnpackedBundle {
  /** `<cacheDir>/custom/<sha256 of the artifact>`: the module's directory, given to `load(dir)`. */
  readonly dir: string;
  /** The entry module, relative to `dir`. */
  readonly entry: string;
  readonly fileCount: number;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The bundle's files, decoded and checked: MODEL_INVALID_ARTIFACT when it is not a bundle Ferry wrote. */
function parseBundle(artifact: Uint8Array): { entry: string; files: Map<string, Buffer> } {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(artifact));
  } catch {
    throw invalidArtifact('a custom model bundle must be UTF-8 JSON');
  }
  if (ownField(doc, 'format') !== BUNDLE_FORMAT || ownField(doc, 'formatVersion') !== BUNDLE_FORMAT_VERSION) {
    throw invalidArtifact(`not a ${BUNDLE_FORMAT} document of version ${BUNDLE_FORMAT_VERSION}`);
  }
  const rawFiles = ownField(doc, 'files');
  if (!isJsonObject(rawFiles)) throw invalidArtifact('"files" must be an object');
  const names = Object.keys(rawFiles);
  if (names.length > MAX_BUNDLE_FILES) throw invalidArtifact(`more than ${MAX_BUNDLE_FILES} files`);
  const files = new Map<string, Buffer>();
  let total = 0;
  for (const name of names) {
    const problem = bundlePathProblem(name);
    if (problem) throw invalidArtifact(`the file path ${JSON.stringify(name.slice(0, 200))} ${problem}`);
    const b64 = rawFiles[name];
    if (typeof b64 !== 'string' || b64.length % 4 !== 0 || !BASE64.test(b64)) {
      throw invalidArtifact(`the file "${name}" is not base64`);
    }
    const bytes = Buffer.from(b64, 'base64');
    total += bytes.length;
    if (total > MAX_BUNDLE_BYTES) throw invalidArtifact(`files over ${MAX_BUNDLE_BYTES} bytes`);
    files.set(name, bytes);
  }
  // "a" and "a/b" cannot both be files.
  for (const name of names) {
    for (let i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
      if (files.has(name.slice(0, i)))
        throw invalidArtifact(`"${name.slice(0, i)}" is both a file and a directory`);
    }
  }
  const entry = ownField(doc, 'entry');
  if (typeof entry !== 'string' || !files.has(entry) || !isModuleFile(entry)) {
    throw invalidArtifact('"entry" must name one of its .mjs or .js files');
  }
  return { entry, files };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Writes a file whole or not at all (another process may be reading it): a temp file, then rename. */
async function writeFileAtomically(path: string, text: string): Promise<void> {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === text) return;
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/**
 * What every unpacked bundle sees above it: a package.json that makes its `.js` files ES modules
 * wherever the cache is, and the `ferry` stand-in its `import { defineModel } from 'ferry'`
 * resolves to (a bundle's own package.json or node_modules, nearer, win).
 */
async function prepareCustomRoot(root: string): Promise<void> {
  await writeFileAtomically(join(root, 'package.json'), '{ "private": true, "type": "module" }\n');
  const ferry = join(root, 'node_modules', 'ferry');
  await writeFileAtomically(
    join(ferry, 'package.json'),
    '{ "name": "ferry", "private": true, "type": "module", "exports": "./index.js" }\n',
  );
  await writeFileAtomically(join(ferry, 'index.js'), DEFINE_MODEL_STAND_IN);
}

/**
 * Unpacks a bundle to `<cacheDir>/custom/<sha256>/`, or reuses that directory when a previous open
 * made it. It is written under a temporary name and renamed into place, so a crash mid-way never
 * leaves a half-written directory that a later open would take for a complete one.
 */
export async function unpackBundle(artifact: Uint8Array, cacheDir: string): Promise<UnpackedBundle> {
  const { entry, files } = parseBundle(artifact);
  const root = join(cacheDir, 'custom');
  const dir = join(root, sha256Hex(artifact));
  await prepareCustomRoot(root);
  if (await exists(dir)) return { dir, entry, fileCount: files.size };
  const tmp = join(root, `.tmp-${randomBytes(8).toString('hex')}`);
  try {
    for (const [name, bytes] of files) {
      const path = join(tmp, ...name.split('/'));
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
    }
    await mkdir(tmp, { recursive: true });
    await rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
      // Another process unpacked the same bundle first: theirs is complete, use it.
      if ((e.code === 'ENOTEMPTY' || e.code === 'EEXIST') && (await exists(dir))) return;
      throw e;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return { dir, entry, fileCount: files.size };
}
