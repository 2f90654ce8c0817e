import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, FerryError } from '../core/errors.js';
import type { DefinitionProblem } from './definition-checks.js';
import type { FeatureRepoDef } from './feature-definitions.js';
import { JsonSyntaxError, locate, parseJsonWithPositions } from './json-positions.js';
import { validateDefinitions } from './validate-definitions.js';

/**
 * Reads a feature repository file and validates it: `features.json` (errors carry file, line and
 * column, found in the JSON text), or an ES module whose default export is the repository
 * (`.mjs`/`.js` imported as they are, `.ts` through tsx's `tsImport` when tsx is installed).
 * Every problem is reported at once: FERRY_FEATURES_INVALID with `details.problems`.
 */
export interface LoadedDefinitions {
  readonly repo: FeatureRepoDef;
  /** Absolute path of the definition file. */
  readonly file: string;
  /** File sources are relative to this directory (the file's). */
  readonly baseDir: string;
  readonly format: 'json' | 'module';
}

/** The names looked for in the project directory when no file is given, in this order. */
const DEFAULT_DEFINITION_FILES = ['features.json', 'features.ts', 'features.mjs'] as const;

const TSX_API = 'tsx/esm/api';

/**
 * The definition file to read: `explicit` (a flag or FERRY_FEATURES_FILE), else the one of
 * DEFAULT_DEFINITION_FILES that exists in `projectDir`. Two of them at once is ambiguous: refused.
 */
export function resolveDefinitionFile(projectDir: string, explicit: string | undefined): string {
  if (explicit !== undefined && explicit.trim() !== '') return resolve(explicit);
  const found = DEFAULT_DEFINITION_FILES.map((f) => join(projectDir, f)).filter((f) => existsSync(f));
  if (found.length === 1) return found[0]!;
  if (found.length === 0) {
    throw new FerryError(
      ErrorCode.FEATURES_INVALID,
      `no feature repository file in ${projectDir}: write features.json (or features.ts/.mjs), or name one with --file or FERRY_FEATURES_FILE`,
      { details: { projectDir, looked: [...DEFAULT_DEFINITION_FILES] } },
    );
  }
  throw new FerryError(
    ErrorCode.FEATURES_INVALID,
    `${found.map((f) => basename(f)).join(' and ')} are both in ${projectDir}: choose one with --file or FERRY_FEATURES_FILE`,
    { details: { projectDir, found } },
  );
}

export async function loadDefinitions(path: string): Promise<LoadedDefinitions> {
  const file = resolve(path);
  const baseDir = dirname(file);
  try {
    if (!(await stat(file)).isFile()) throw invalidFile(file, 'is not a regular file');
  } catch (e) {
    if (e instanceof FerryError) throw e;
    throw invalidFile(file, 'does not exist');
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.json') return loadJson(file, baseDir);
  if (ext === '.mjs' || ext === '.js' || ext === '.ts' || ext === '.mts') {
    const raw = await importDefault(file, ext);
    const result = validateDefinitions(raw, { baseDir, allowFunctions: true });
    if (!result.ok) throw definitionsError(file, result.problems);
    return { repo: result.repo, file, baseDir, format: 'module' };
  }
  throw invalidFile(file, `has an unknown extension "${ext}": use .json, .mjs, .js or .ts`);
}

async function loadJson(file: string, baseDir: string): Promise<LoadedDefinitions> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw invalidFile(file, `cannot be read: ${(e as Error).message}`);
  }
  let parsed: ReturnType<typeof parseJsonWithPositions>;
  try {
    parsed = parseJsonWithPositions(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    throw definitionsError(file, [
      { path: '', message: `not valid JSON: ${e.message}`, line: e.position.line, column: e.position.column },
    ]);
  }
  const result = validateDefinitions(parsed.value, { baseDir, allowFunctions: false });
  if (!result.ok) {
    const placed = result.problems.map((p) => {
      const at = locate(parsed.positions, p.path);
      return at === undefined ? p : { ...p, line: at.line, column: at.column };
    });
    throw definitionsError(file, placed);
  }
  return { repo: result.repo, file, baseDir, format: 'json' };
}

async function importDefault(file: string, ext: string): Promise<unknown> {
  let mod: { default?: unknown };
  try {
    if (ext === '.ts' || ext === '.mts') {
      const tsx = await loadTsx(file);
      mod = (await tsx.tsImport(pathToFileURL(file).href, import.meta.url)) as { default?: unknown };
    } else {
      // The modification time in the URL: a file changed since this process imported it is read again.
      const version = (await stat(file)).mtimeMs;
      mod = (await import(`${pathToFileURL(file).href}?v=${version}`)) as { default?: unknown };
    }
  } catch (e) {
    if (e instanceof FerryError) throw e;
    throw invalidFile(file, `does not load: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  let value = mod.default;
  // A .ts file outside an ES module package is compiled as CommonJS: its default export arrives
  // wrapped once more (module.exports.default).
  if (typeof value === 'object' && value !== null && 'default' in value && !('entities' in value)) {
    value = (value as { default: unknown }).default;
  }
  if (value === undefined) {
    throw invalidFile(
      file,
      'has no default export: write `export default defineFeatures({...})` (or a plain object)',
    );
  }
  return value;
}

interface TsxApi {
  tsImport(specifier: string, parent: string): Promise<unknown>;
}

async function loadTsx(file: string): Promise<TsxApi> {
  try {
    // A variable specifier: tsx is a development tool, never a dependency of the built code.
    const specifier: string = TSX_API;
    return (await import(specifier)) as TsxApi;
  } catch (e) {
    throw invalidFile(
      file,
      'is TypeScript, which needs the tsx package to load (`npm install --save-dev tsx`); or write the repository as features.mjs or features.json',
      e,
    );
  }
}

function invalidFile(file: string, what: string, cause?: unknown): FerryError {
  return new FerryError(ErrorCode.FEATURES_INVALID, `the feature repository file ${file} ${what}`, {
    details: { file, problems: [{ path: '', message: `the file ${what}` }] },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** `features.json:12:7: views[2].ttl: a TTL of 0 is not allowed` */
function formatProblem(file: string, p: DefinitionProblem): string {
  const where = p.line === undefined ? file : `${file}:${p.line}:${p.column}`;
  return `${where}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`;
}

function definitionsError(file: string, problems: readonly DefinitionProblem[]): FerryError {
  const shown = relative(process.cwd(), file) || file;
  const lines = problems.map((p) => `  ${formatProblem(shown, p)}`);
  return new FerryError(
    ErrorCode.FEATURES_INVALID,
    `${shown}: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the feature definitions, nothing was changed:\n${lines.join('\n')}`,
    { details: { file, problems } },
  );
}
