/**
 * The shape of a setting's declaration. Each setting is declared once (src/core/settings/catalogue.ts)
 * with its type, default, allowed values and description; the reader validates against it, the
 * README's Settings table is generated from it and `ferry config` prints it.
 */

/** Where the README's table files a setting (its order is the table's). */
type SettingGroup =
  | 'storage'
  | 'training'
  | 'serving'
  | 'limits'
  | 'cache'
  | 'prediction log'
  | 'stored predictions'
  | 'experiments'
  | 'batch'
  | 'features and streams'
  | 'monitoring and learning'
  | 'logging';

/**
 * `value`: the whole value is a secret (a token); `url-credentials`: a URL whose password (or
 * user:password) must not be shown, the rest may.
 */
type SecretKind = 'value' | 'url-credentials';

/** A rule on a text value: what it must look like, said in words for the error message. */
export interface TextRule {
  readonly test: (value: string) => boolean;
  /** Completes "FERRY_X must be …". */
  readonly text: string;
}

interface SettingBase {
  readonly description: string;
  readonly group: SettingGroup;
  readonly secret?: SecretKind;
  /** Other variables read, in order, when this one is unset (e.g. CI's commit variables). */
  readonly fallbacks?: readonly string[];
  /** How the default reads in the docs when it is computed at run time (paths under FERRY_HOME). */
  readonly defaultText?: string;
  /** The command-line flag that wins over the variable, if any (e.g. `ferry serve --port`). */
  readonly flag?: string;
}

interface IntegerSetting extends SettingBase {
  readonly type: 'integer';
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

interface NumberSetting extends SettingBase {
  readonly type: 'number';
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

interface BooleanSetting extends SettingBase {
  readonly type: 'boolean';
  readonly default: boolean;
}

interface EnumSetting extends SettingBase {
  readonly type: 'enum';
  readonly values: readonly string[];
  readonly default: string;
}

interface StringSetting extends SettingBase {
  readonly type: 'string';
  /** undefined: unset unless given (or computed by its reader, see `defaultText`). */
  readonly default: string | undefined;
  readonly rule?: TextRule;
}

/** A comma-separated list; items are trimmed, empty items dropped. */
interface ListSetting extends SettingBase {
  readonly type: 'list';
  readonly default: readonly string[];
  readonly item?: TextRule;
}

export type SettingSpec =
  | IntegerSetting
  | NumberSetting
  | BooleanSetting
  | EnumSetting
  | StringSetting
  | ListSetting;

/** The value type a declaration reads as. */
export type SettingValueOf<S> = S extends { readonly type: 'integer' | 'number' }
  ? number
  : S extends { readonly type: 'boolean' }
    ? boolean
    : S extends { readonly type: 'enum'; readonly values: readonly (infer V)[] }
      ? V
      : S extends { readonly type: 'list' }
        ? string[]
        : S extends { readonly type: 'string'; readonly default: string }
          ? string
          : string | undefined;
