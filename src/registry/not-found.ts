import { ErrorCode, FerryError } from '../core/errors.js';
import type { SqlExecutor } from '../ports/sql.js';
import { type AliasRow, byCodeUnit, toInt } from './rows.js';

const MAX_LISTED = 20;

/**
 * Builds a REGISTRY_NOT_FOUND error that says what does exist, so the reader can fix the ref
 * without a second command: the known models, or the model's aliases and version range.
 */
export async function registryNotFound(sql: SqlExecutor, name: string, missing: string): Promise<FerryError> {
  const models = await sql.query<{ name: string }>('SELECT name FROM ferry_models WHERE name = $1', [name]);
  if (models.length === 0) {
    const known = (await sql.query<{ name: string }>('SELECT name FROM ferry_models'))
      .map((r) => r.name)
      .sort(byCodeUnit);
    const listed =
      known.length === 0 ? 'the registry has no models yet' : `known models: ${shortList(known)}`;
    return new FerryError(ErrorCode.REGISTRY_NOT_FOUND, `no model named "${name}"; ${listed}`, {
      details: { name, knownModels: known.slice(0, MAX_LISTED) },
    });
  }
  const aliasRows = await sql.query<AliasRow>(
    'SELECT name, alias, version FROM ferry_model_aliases WHERE name = $1',
    [name],
  );
  const aliases = Object.fromEntries(
    aliasRows.map((r) => [r.alias, toInt(r.version)] as const).sort(([a], [b]) => byCodeUnit(a, b)),
  );
  const [range] = await sql.query<{ lo: unknown; hi: unknown }>(
    'SELECT MIN(version) AS lo, MAX(version) AS hi FROM ferry_model_versions WHERE name = $1',
    [name],
  );
  const versions =
    range?.hi === null || range?.hi === undefined ? 'none' : `${toInt(range.lo)}..${toInt(range.hi)}`;
  const aliasText = Object.entries(aliases)
    .map(([alias, version]) => `${alias} -> ${version}`)
    .join(', ');
  return new FerryError(
    ErrorCode.REGISTRY_NOT_FOUND,
    `model "${name}" has no ${missing}; aliases: ${aliasText === '' ? 'none' : aliasText}; versions: ${versions}`,
    { details: { name, missing, aliases, versions } },
  );
}

function shortList(items: string[]): string {
  const head = items.slice(0, MAX_LISTED).join(', ');
  return items.length > MAX_LISTED ? `${head}, … (${items.length} in all)` : head;
}
