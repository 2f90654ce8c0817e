import { ErrorCode, FerryError } from '../errors.js';
import { SETTING_NAMES, SETTINGS, type SettingName } from './catalogue.js';
import type { SettingSpec, SettingValueOf } from './setting-types.js';

type SettingValue<N extends SettingName> = SettingValueOf<(typeof SETTINGS)[N]>;

/** `flag`: a command-line flag given to this command; `environment`: the variable (or a fallback). */
export type SettingSource = 'default' | 'environment' | 'flag';

interface ResolvedSetting<N extends SettingName = SettingName> {
  readonly name: N;
  readonly value: SettingValue<N>;
  readonly source: SettingSource;
  /** The variable the value came from when it is a fallback (e.g. GITHUB_SHA for FERRY_GIT_COMMIT). */
  readonly from?: string;
}

/** A value given on the command line, which wins over the variable; `label` names it in errors. */
interface SettingOverride {
  readonly raw: string | undefined;
  readonly label: string;
}

type Env = Readonly<Record<string, string | undefined>>;

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** The one error every invalid setting gives (500: the operator's settings, never a client's input). */
export function configInvalid(message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError(ErrorCode.CONFIG_INVALID, message, { details });
}

/** A URL with its credentials hidden: `postgres://user:secret@db/x` → `postgres://***@db/x`. */
function redactUrlCredentials(value: string): string {
  return value.replace(/\/\/[^@/]*@/, '//***@');
}

/** The value as it may be shown (errors, `ferry config`): secrets hidden, URLs without passwords. */
export function redact(spec: SettingSpec, value: string): string {
  if (spec.secret === 'value') return value === '' ? '' : '***';
  if (spec.secret === 'url-credentials') return redactUrlCredentials(value);
  return value;
}

/** The words completing "NAME must be …" for a declaration. */
export function describeRule(spec: SettingSpec): string | undefined {
  switch (spec.type) {
    case 'integer':
      return `an integer in [${spec.min}, ${spec.max}]`;
    case 'number':
      return `a number in [${spec.min}, ${spec.max}]`;
    case 'boolean':
      return 'true or false (1/0, yes/no, on/off)';
    case 'enum':
      return `one of ${spec.values.join(', ')}`;
    case 'string':
      return spec.rule?.text;
    case 'list':
      return spec.item?.text;
  }
}

/** `offending`: for a list, the item that breaks the rule (shown instead of the whole list). */
type Parsed = { ok: true; value: unknown } | { ok: false; offending?: string };

function parse(spec: SettingSpec, raw: string): Parsed {
  switch (spec.type) {
    case 'integer':
    case 'number': {
      const n = Number(raw.trim());
      const ok =
        raw.trim() !== '' &&
        Number.isFinite(n) &&
        n >= spec.min &&
        n <= spec.max &&
        (spec.type === 'number' || Number.isInteger(n));
      return ok ? { ok, value: n } : { ok: false };
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase();
      if (TRUE.has(v)) return { ok: true, value: true };
      if (FALSE.has(v)) return { ok: true, value: false };
      return { ok: false };
    }
    case 'enum':
      return spec.values.includes(raw) ? { ok: true, value: raw } : { ok: false };
    case 'string':
      return spec.rule === undefined || spec.rule.test(raw) ? { ok: true, value: raw } : { ok: false };
    case 'list': {
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const bad = spec.item ? items.find((i) => !spec.item?.test(i)) : undefined;
      return bad === undefined ? { ok: true, value: items } : { ok: false, offending: bad };
    }
  }
}

function defaultValue(spec: SettingSpec): unknown {
  return spec.type === 'list' ? [...spec.default] : spec.default;
}

/**
 * Reads one setting: the override (a flag) when given, else the variable, else its fallbacks, else
 * the default; an empty text counts as unset. A value that breaks the declaration's rule throws
 * FERRY_CONFIG_INVALID naming the variable (or flag), the value (redacted when secret) and the rule.
 */
export function resolveSetting<N extends SettingName>(
  env: Env,
  name: N,
  override?: SettingOverride,
): ResolvedSetting<N> {
  const spec: SettingSpec = SETTINGS[name];
  let raw: string | undefined;
  let source: SettingSource = 'default';
  let from: string | undefined;
  let label: string = name;
  if (override?.raw !== undefined && override.raw !== '') {
    raw = override.raw;
    source = 'flag';
    label = override.label;
  } else {
    for (const variable of [name, ...(spec.fallbacks ?? [])]) {
      const v = env[variable];
      if (v !== undefined && v !== '') {
        raw = v;
        source = 'environment';
        if (variable !== name) from = variable;
        label = variable;
        break;
      }
    }
  }
  if (raw === undefined) return { name, value: defaultValue(spec) as SettingValue<N>, source };
  const parsed = parse(spec, raw);
  if (!parsed.ok) {
    const shown = redact(spec, parsed.offending ?? raw);
    throw configInvalid(`${label} must be ${describeRule(spec)}, got "${shown}"`, {
      setting: name,
      value: shown,
      rule: describeRule(spec),
    });
  }
  return { name, value: parsed.value as SettingValue<N>, source, ...(from ? { from } : {}) };
}

/** A setting's validated value (see resolveSetting). */
export function readSetting<N extends SettingName>(
  env: Env,
  name: N,
  override?: SettingOverride,
): SettingValue<N> {
  return resolveSetting(env, name, override).value;
}

/**
 * Every setting, validated together: one FERRY_CONFIG_INVALID listing each invalid variable, so a
 * deployment learns all its mistakes at once.
 */
export function resolveAllSettings(env: Env): ResolvedSetting[] {
  const out: ResolvedSetting[] = [];
  const problems: string[] = [];
  for (const name of SETTING_NAMES) {
    try {
      out.push(resolveSetting(env, name));
    } catch (e) {
      if (!(e instanceof FerryError)) throw e;
      problems.push(e.message);
    }
  }
  if (problems.length > 0) throw configInvalid(problems.join('; '), { problems });
  return out;
}

/** The default as the docs and `ferry config` show it. */
export function defaultText(spec: SettingSpec): string {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.default === undefined) return 'unset';
  if (spec.type === 'list') return spec.default.length === 0 ? 'empty' : `\`${spec.default.join(',')}\``;
  return `\`${String(spec.default)}\``;
}
