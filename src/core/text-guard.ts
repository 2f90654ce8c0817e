import { ErrorCode, FerryError } from './errors.js';

/**
 * Text that reaches a store from outside goes through these checks first. U+0000 is refused
 * everywhere: PostgreSQL cannot store it in TEXT and rejects the whole statement, so one NUL in a
 * title would otherwise cost other users' rows. Identifiers (request ids, units, entity ids) are
 * bounded because each is copied into logs and stores.
 */
const MAX_IDENTIFIER_BYTES = 256;

export function hasNul(text: string): boolean {
  return text.includes('\u0000');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why `text` cannot be stored exactly as an identifier, or undefined: PostgreSQL TEXT refuses NUL,
 * and both engines store UTF-8, so an unpaired UTF-16 surrogate would come back changed.
 */
export function storableTextProblem(text: string): string | undefined {
  if (hasNul(text)) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(text)) return 'must be well-formed Unicode (no unpaired surrogates)';
  return undefined;
}

/** Codes of refused client text: each is a 400 in the catalogue. */
type TextCode = typeof ErrorCode.HTTP_INVALID_REQUEST | typeof ErrorCode.V2_INVALID_REQUEST;

function invalid(code: TextCode, where: string, message: string): FerryError {
  return new FerryError(code, `${where}: ${message}`, { details: { field: where } });
}

/** Throws FERRY_HTTP_INVALID_REQUEST (or `code`) when `text` contains U+0000. */
function assertNoNul(text: string, where: string, code: TextCode = ErrorCode.HTTP_INVALID_REQUEST): string {
  if (hasNul(text)) throw invalid(code, where, 'contains U+0000 (NUL), which is not accepted');
  return text;
}

/**
 * An identifier from a client: a non-empty string of at most MAX_IDENTIFIER_BYTES UTF-8 bytes
 * without NUL. Bytes, not characters: storage grows by bytes.
 */
export function checkIdentifier(
  value: unknown,
  where: string,
  opts: { code?: TextCode; allowEmpty?: boolean } = {},
): string {
  const code = opts.code ?? ErrorCode.HTTP_INVALID_REQUEST;
  if (typeof value !== 'string') throw invalid(code, where, 'must be a string');
  if (value.length === 0 && opts.allowEmpty !== true) throw invalid(code, where, 'must not be empty');
  // A string of more than MAX bytes can be refused without encoding it (a code unit is ≥ 1 byte).
  if (value.length > MAX_IDENTIFIER_BYTES || Buffer.byteLength(value, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw invalid(code, where, `must be at most ${MAX_IDENTIFIER_BYTES} bytes (UTF-8)`);
  }
  return assertNoNul(value, where, code);
}

interface PathNode {
  parent: PathNode | undefined;
  segment: string;
}

const MAX_SEGMENT = 40;

function render(node: PathNode | undefined): string {
  const parts: string[] = [];
  for (let n = node; n !== undefined; n = n.parent) parts.push(n.segment);
  const path = parts.reverse().join('');
  // A deeply nested body must not produce a message as large as itself.
  return path.length > 200 ? `${path.slice(0, 100)}…${path.slice(-97)}` : path;
}

/**
 * The first string (value or object key) in a parsed JSON document that contains NUL, as a path
 * (`$.items[3].title`), or undefined. Iterative, and paths are built only for the hit: a deeply
 * nested body must neither overflow the stack nor cost memory quadratic in its depth.
 */
export function findNul(value: unknown): string | undefined {
  const root: PathNode = { parent: undefined, segment: '$' };
  const stack: Array<[unknown, PathNode]> = [[value, root]];
  while (stack.length > 0) {
    const [v, node] = stack.pop()!;
    if (typeof v === 'string') {
      if (hasNul(v)) return render(node);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], { parent: node, segment: `[${i}]` }]);
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, child] of Object.entries(v)) {
        const shown = k.length > MAX_SEGMENT ? `${k.slice(0, MAX_SEGMENT)}…` : k;
        if (hasNul(k)) return `${render(node)} (a key)`;
        stack.push([child, { parent: node, segment: `.${shown}` }]);
      }
    }
  }
  return undefined;
}
