/**
 * A small interpreter of the JSON Schema keywords Ferry's request schemas use, so that the schema a
 * route shows in /openapi.json is the very object that checks its bodies (in the HTTP server and in
 * the CLI, which has no fastify). It answers with the first problem and a field path in Ferry's
 * style (`arms[0].weight`) rather than Ajv's list of pointers, and it agrees with Ajv on what it
 * accepts (test/unit/core/schema-check.test.ts compares the two).
 *
 * Supported: type (one or a list; `number` is finite), enum, const-free objects (properties,
 * required, additionalProperties: false | true), arrays (items, minItems, maxItems), strings
 * (minLength, maxLength in code points as JSON Schema counts them, pattern with the `u` flag),
 * numbers (minimum, maximum, exclusiveMinimum), oneOf. Annotations (description, default, …) are
 * ignored; `x-ferry-code` on a schema names the error code its violations carry.
 */

type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

export interface JsonSchema {
  readonly type?: JsonType | readonly JsonType[];
  readonly enum?: readonly unknown[];
  readonly properties?: { readonly [key: string]: JsonSchema };
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean;
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly oneOf?: readonly JsonSchema[];
  readonly description?: string;
  readonly default?: unknown;
  readonly 'x-ferry-code'?: string;
}

/** What is wrong, where (a path such as `arms[0].weight`, '' for the whole value), and its code. */
export interface SchemaProblem {
  field: string;
  message: string;
  code?: string;
}

function typeOf(value: unknown): JsonType | 'other' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isFinite(value) ? 'number' : 'other';
    case 'object':
      return 'object';
    default:
      return 'other';
  }
}

function hasType(value: unknown, type: JsonType): boolean {
  const actual = typeOf(value);
  if (type === 'integer') return actual === 'number' && Number.isInteger(value);
  return actual === type;
}

function typeWords(types: readonly JsonType[]): string {
  const words: Record<JsonType, string> = {
    string: 'a string',
    number: 'a finite number',
    integer: 'an integer',
    boolean: 'a boolean',
    object: 'an object',
    array: 'an array',
    null: 'null',
  };
  return types.map((t) => words[t]).join(' or ');
}

function child(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path === '' ? key : `${path}.${key}`;
}

const patterns = new Map<string, RegExp>();

function regExp(pattern: string): RegExp {
  let re = patterns.get(pattern);
  if (re === undefined) {
    re = new RegExp(pattern, 'u');
    patterns.set(pattern, re);
  }
  return re;
}

/** The first problem of `value` against `schema`, or undefined when it conforms. */
export function schemaProblem(schema: JsonSchema, value: unknown, path = ''): SchemaProblem | undefined {
  const problem = check(schema, value, path);
  if (problem !== undefined && problem.code === undefined && schema['x-ferry-code'] !== undefined) {
    problem.code = schema['x-ferry-code'];
  }
  return problem;
}

function check(schema: JsonSchema, value: unknown, path: string): SchemaProblem | undefined {
  const at = path === '' ? 'the body' : path;
  const fail = (message: string): SchemaProblem => ({
    field: path === '' ? 'body' : path,
    message: `${at} ${message}`,
    ...(schema['x-ferry-code'] !== undefined ? { code: schema['x-ferry-code'] } : {}),
  });
  if (schema.oneOf !== undefined) return checkOneOf(schema.oneOf, value, path);
  if (schema.type !== undefined) {
    const types: readonly JsonType[] = typeof schema.type === 'string' ? [schema.type] : schema.type;
    if (!types.some((t) => hasType(value, t))) return fail(`must be ${typeWords(types)}`);
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) {
    return fail(`must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  switch (typeOf(value)) {
    case 'string':
      return checkString(schema, value as string, fail);
    case 'number':
      return checkNumber(schema, value as number, fail);
    case 'array':
      return checkArray(schema, value as unknown[], path, fail);
    case 'object':
      return checkObject(schema, value as Record<string, unknown>, path, fail);
    default:
      return undefined;
  }
}

/** Exactly one branch must hold; the problem shown is the one of the branch the value aims at. */
function checkOneOf(
  branches: readonly JsonSchema[],
  value: unknown,
  path: string,
): SchemaProblem | undefined {
  const problems = branches.map((b) => schemaProblem(b, value, path));
  const passing = problems.filter((p) => p === undefined).length;
  if (passing === 1) return undefined;
  if (passing > 1)
    return { field: path || 'body', message: `${path || 'the body'} matches more than one form` };
  // The branch whose required keys are all present is the one the client meant.
  const keys = typeOf(value) === 'object' ? Object.keys(value as object) : [];
  const meant = branches.findIndex((b) => (b.required ?? []).every((k) => keys.includes(k)));
  return problems[meant === -1 ? 0 : meant];
}

function checkString(
  schema: JsonSchema,
  value: string,
  fail: (m: string) => SchemaProblem,
): SchemaProblem | undefined {
  // JSON Schema counts code points, not UTF-16 units.
  const length = schema.minLength !== undefined || schema.maxLength !== undefined ? [...value].length : 0;
  if (schema.minLength !== undefined && length < schema.minLength) {
    return fail(`must have at least ${schema.minLength} character${schema.minLength === 1 ? '' : 's'}`);
  }
  if (schema.maxLength !== undefined && length > schema.maxLength) {
    return fail(`must have at most ${schema.maxLength} characters`);
  }
  if (schema.pattern !== undefined && !regExp(schema.pattern).test(value)) {
    return fail(`must match ${schema.pattern}`);
  }
  return undefined;
}

function checkNumber(
  schema: JsonSchema,
  value: number,
  fail: (m: string) => SchemaProblem,
): SchemaProblem | undefined {
  const { minimum, maximum, exclusiveMinimum } = schema;
  if ((minimum !== undefined && value < minimum) || (maximum !== undefined && value > maximum)) {
    if (minimum !== undefined && maximum !== undefined)
      return fail(`must be within [${minimum}, ${maximum}]`);
    return minimum !== undefined ? fail(`must be >= ${minimum}`) : fail(`must be <= ${maximum}`);
  }
  if (exclusiveMinimum !== undefined && !(value > exclusiveMinimum))
    return fail(`must be > ${exclusiveMinimum}`);
  return undefined;
}

function checkArray(
  schema: JsonSchema,
  value: readonly unknown[],
  path: string,
  fail: (m: string) => SchemaProblem,
): SchemaProblem | undefined {
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    return fail(`must have at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`);
  }
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    return fail(`must have at most ${schema.maxItems} items`);
  }
  if (schema.items === undefined) return undefined;
  for (const [i, item] of value.entries()) {
    const problem = schemaProblem(schema.items, item, child(path, i));
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function checkObject(
  schema: JsonSchema,
  value: Readonly<Record<string, unknown>>,
  path: string,
  fail: (m: string) => SchemaProblem,
): SchemaProblem | undefined {
  const properties = schema.properties ?? {};
  if (schema.additionalProperties === false) {
    const allowed = Object.keys(properties);
    const unknown = Object.keys(value).find((k) => !Object.hasOwn(properties, k));
    if (unknown !== undefined) {
      return {
        field: child(path, unknown),
        message: `unknown field ${JSON.stringify(unknown)} in ${path === '' ? 'the body' : path}; allowed: ${allowed.join(', ')}`,
      };
    }
  }
  const missing = (schema.required ?? []).find((k) => value[k] === undefined);
  if (missing !== undefined) {
    return { ...fail(`needs the field ${JSON.stringify(missing)}`), field: child(path, missing) };
  }
  for (const [key, sub] of Object.entries(properties)) {
    if (value[key] === undefined) continue;
    const problem = schemaProblem(sub, value[key], child(path, key));
    if (problem !== undefined) return problem;
  }
  return undefined;
}
