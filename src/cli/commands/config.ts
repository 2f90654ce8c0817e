import type { Command } from 'commander';
import { loadConfig } from '../../core/config.js';
import { SETTINGS, type SettingName } from '../../core/settings/catalogue.js';
import { redact, resolveAllSettings, type SettingSource } from '../../core/settings/read-settings.js';
import type { SettingSpec } from '../../core/settings/setting-types.js';
import { printJson } from '../output.js';

/** One line of `ferry config`: what a setting is now and where that came from, secrets hidden. */
interface EffectiveSetting {
  name: SettingName;
  /** Redacted: a secret set shows as `***`, a URL without its credentials; null when unset. */
  value: string | number | boolean | string[] | null;
  source: SettingSource | 'computed';
  /** The variable read when it is a fallback of the setting's own (e.g. GITHUB_SHA). */
  from?: string;
  secret: boolean;
}

/**
 * Every setting's effective value. Paths whose default is computed (FERRY_HOME, FERRY_DB, …) show
 * what Ferry will use, marked `computed`, rather than "unset".
 */
function effectiveSettings(env: NodeJS.ProcessEnv, cwd = process.cwd()): EffectiveSetting[] {
  // Every setting first, so that all invalid ones are named in one error.
  const resolved = resolveAllSettings(env);
  const config = loadConfig(env, {}, cwd);
  const computed: Partial<Record<SettingName, string>> = {
    FERRY_HOME: config.home,
    FERRY_DB: config.db,
    FERRY_ARTIFACTS: config.artifacts,
    FERRY_CACHE_DIR: config.cacheDir,
  };
  return resolved.map((s) => {
    const spec: SettingSpec = SETTINGS[s.name];
    const secret = spec.secret !== undefined;
    let value: unknown = s.value;
    let source: EffectiveSetting['source'] = s.source;
    if (source === 'default' && computed[s.name] !== undefined) {
      value = computed[s.name];
      source = 'computed';
    }
    if (typeof value === 'string') value = redact(spec, value);
    return {
      name: s.name,
      value: (value ?? null) as EffectiveSetting['value'],
      source,
      ...(s.from ? { from: s.from } : {}),
      secret,
    };
  });
}

function show(value: EffectiveSetting['value']): string {
  if (value === null) return '(unset)';
  if (Array.isArray(value)) return value.length === 0 ? '(empty)' : value.join(',');
  return String(value);
}

export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('every setting: its effective value and where it came from (secrets redacted)')
    .option('--json', 'machine-readable output')
    .action((flags: { json?: boolean }) => {
      const settings = effectiveSettings(process.env);
      if (flags.json) return printJson({ settings });
      const width = Math.max(...settings.map((s) => s.name.length));
      for (const s of settings) {
        const where = s.from ? `${s.source}: ${s.from}` : s.source;
        process.stdout.write(`${s.name.padEnd(width)}  ${show(s.value)}  (${where})\n`);
      }
    });
}
