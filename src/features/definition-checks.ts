import { parseDuration } from '../core/duration.js';
import { storableTextProblem } from '../core/text-guard.js';
import { childPath } from './json-positions.js';

/** One thing wrong with a definition: the field path, what is wrong, and (JSON files) where. */
export interface DefinitionProblem {
  readonly path: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

/** Names of entities, sources, views, features, services, pipelines. */
const NAME_RULE = /^[a-z][a-z0-9_]{0,63}$/;
const MAX_FIELD_BYTES = 256;

type Obj = Record<string, unknown>;

/**
 * The primitive checks of the validator: each records a problem at a path and returns the value
 * when it is usable, undefined when it is not (so the caller skips what depends on it and still
 * reports everything else it can).
 */
export class Checks {
  readonly problems: DefinitionProblem[] = [];

  add(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** An object with only `allowed` keys (an unknown key is a typo more often than not). */
  object(value: unknown, path: string, allowed: readonly string[], what: string): Obj | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.add(path, `expected ${what} (an object), got ${describe(value)}`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.add(
          childPath(path, key),
          `unknown field "${key}"; ${what} has ${allowed.map((k) => `"${k}"`).join(', ')}`,
        );
      }
    }
    return value as Obj;
  }

  array(value: unknown, path: string, opts: { nonEmpty?: boolean } = {}): unknown[] | undefined {
    if (!Array.isArray(value)) {
      this.add(path, `expected a list, got ${describe(value)}`);
      return undefined;
    }
    if (opts.nonEmpty && value.length === 0) {
      this.add(path, 'must not be empty');
      return undefined;
    }
    return value;
  }

  /** A required field of `obj`: reports it missing. */
  required(obj: Obj, key: string, path: string): unknown {
    if (!Object.hasOwn(obj, key) || obj[key] === undefined) {
      this.add(childPath(path, key), `"${key}" is required`);
      return undefined;
    }
    return obj[key];
  }

  /** A name: `[a-z][a-z0-9_]{0,63}`. */
  name(value: unknown, path: string): string | undefined {
    if (typeof value !== 'string') {
      this.add(path, `expected a name (text), got ${describe(value)}`);
      return undefined;
    }
    if (!NAME_RULE.test(value)) {
      this.add(
        path,
        `"${value}" is not a valid name: lower-case letters, digits and "_", starting with a letter, at most 64 characters`,
      );
      return undefined;
    }
    return value;
  }

  /** A field name of source rows: non-empty text without NUL, at most 256 bytes. */
  field(value: unknown, path: string): string | undefined {
    if (typeof value !== 'string' || value.trim() === '') {
      this.add(path, `expected a field name (non-empty text), got ${describe(value)}`);
      return undefined;
    }
    const problem = storableTextProblem(value);
    if (problem !== undefined) {
      this.add(path, `the field name ${problem}`);
      return undefined;
    }
    if (Buffer.byteLength(value) > MAX_FIELD_BYTES) {
      this.add(path, `the field name is longer than ${MAX_FIELD_BYTES} bytes`);
      return undefined;
    }
    return value;
  }

  text(value: unknown, path: string, opts: { nonEmpty?: boolean } = {}): string | undefined {
    if (typeof value !== 'string') {
      this.add(path, `expected text, got ${describe(value)}`);
      return undefined;
    }
    if (opts.nonEmpty && value.trim() === '') {
      this.add(path, 'must not be empty');
      return undefined;
    }
    const problem = storableTextProblem(value);
    if (problem !== undefined) {
      this.add(path, `the text ${problem}`);
      return undefined;
    }
    return value;
  }

  optionalText(obj: Obj, key: string, path: string): void {
    if (obj[key] !== undefined) this.text(obj[key], childPath(path, key));
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], what: string): T | undefined {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    this.add(
      path,
      `unknown ${what} ${typeof value === 'string' ? `"${value}"` : describe(value)}; expected one of ${allowed.map((a) => `"${a}"`).join(', ')}`,
    );
    return undefined;
  }

  boolean(value: unknown, path: string): boolean | undefined {
    if (typeof value === 'boolean') return value;
    this.add(path, `expected true or false, got ${describe(value)}`);
    return undefined;
  }

  /**
   * A duration in milliseconds; `what` names it in messages ("a TTL"). Zero is refused unless
   * `allowZero` (an allowed lateness of 0 means none).
   */
  duration(
    value: unknown,
    path: string,
    what: string,
    opts: { allowZero?: boolean } = {},
  ): number | undefined {
    const r = parseDuration(value);
    if (!r.ok) {
      this.add(path, r.reason);
      return undefined;
    }
    if (r.ms < 0) {
      this.add(path, `${what} must not be negative`);
      return undefined;
    }
    if (r.ms === 0 && !opts.allowZero) {
      this.add(path, `${what} of 0 is not allowed`);
      return undefined;
    }
    return r.ms;
  }

  integer(value: unknown, path: string, min: number, max: number): number | undefined {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.add(path, `expected a whole number, got ${describe(value)}`);
      return undefined;
    }
    if (value < min || value > max) {
      this.add(path, `${value} is out of range: expected ${min} to ${max}`);
      return undefined;
    }
    return value;
  }

  /** Reports every name after its first occurrence among `items` (by their `name` field). */
  unique(names: ReadonlyArray<{ name: string | undefined; path: string }>, what: string): void {
    const seen = new Map<string, string>();
    for (const { name, path } of names) {
      if (name === undefined) continue;
      const first = seen.get(name);
      if (first !== undefined)
        this.add(childPath(path, 'name'), `duplicate ${what} name "${name}" (first at ${first})`);
      else seen.set(name, path);
    }
  }
}

/** What a value is, for messages: `a number (0)`, `text ("x")`, `nothing`. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `text (${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)})`;
    case 'number':
      return `a number (${value})`;
    case 'boolean':
      return `${value}`;
    case 'function':
      return 'a function';
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}
