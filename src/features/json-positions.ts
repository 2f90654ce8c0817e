/**
 * A JSON parser that also remembers where each value starts (line and column, 1-based), keyed by
 * its field path (`views[2].ttl`), so that a definition error can name the place in the file.
 * JSON.parse reports neither positions of values nor duplicate keys; this one reports both. The
 * values it returns are what JSON.parse returns for the same text (a duplicate key is an error
 * here instead of last-one-wins).
 */
export interface Position {
  readonly line: number;
  readonly column: number;
}

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: Position,
  ) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

export interface ParsedJson {
  readonly value: unknown;
  /** Path → where its value starts. */
  readonly positions: ReadonlyMap<string, Position>;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The path of a member: `views[2].ttl`, `features["a-b"]`; the root is ''. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (!IDENT.test(key)) return `${parent}[${JSON.stringify(key)}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/** Where `path` is in the file: its own position, or that of its nearest ancestor that has one. */
export function locate(positions: ReadonlyMap<string, Position>, path: string): Position | undefined {
  let p = path;
  for (;;) {
    const found = positions.get(p);
    if (found !== undefined) return found;
    if (p === '') return undefined;
    p = parentPath(p);
  }
}

function parentPath(path: string): string {
  // The last `.key`, `[n]` or `["key"]` goes (a quoted key may itself hold dots or brackets).
  if (path.endsWith('"]')) {
    let i = path.length - 3;
    for (; i >= 0; i--) if (path[i] === '"' && path[i - 1] === '[' && !isEscaped(path, i)) break;
    return path.slice(0, Math.max(0, i - 1));
  }
  const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
  return cut <= 0 ? '' : path.slice(0, cut);
}

function isEscaped(text: string, i: number): boolean {
  let slashes = 0;
  for (let j = i - 1; j >= 0 && text[j] === '\\'; j--) slashes++;
  return slashes % 2 === 1;
}

export function parseJsonWithPositions(text: string): ParsedJson {
  return new Parser(text).parseDocument();
}

class Parser {
  private i = 0;
  private line = 1;
  private lineStart = 0;
  private readonly positions = new Map<string, Position>();

  constructor(private readonly text: string) {
    if (text.charCodeAt(0) === 0xfeff) this.i = 1; // a byte order mark
  }

  parseDocument(): ParsedJson {
    this.skipSpace();
    const value = this.parseValue('');
    this.skipSpace();
    if (this.i < this.text.length) this.fail('unexpected text after the end of the JSON value');
    return { value, positions: this.positions };
  }

  private here(): Position {
    return { line: this.line, column: this.i - this.lineStart + 1 };
  }

  private fail(message: string): never {
    throw new JsonSyntaxError(message, this.here());
  }

  private skipSpace(): void {
    const t = this.text;
    for (; this.i < t.length; this.i++) {
      const c = t.charCodeAt(this.i);
      if (c === 0x0a) {
        this.line++;
        this.lineStart = this.i + 1;
      } else if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return;
    }
  }

  private parseValue(path: string): unknown {
    this.positions.set(path, this.here());
    const c = this.text[this.i];
    switch (c) {
      case '{':
        return this.parseObject(path);
      case '[':
        return this.parseArray(path);
      case '"':
        return this.parseString();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      case undefined:
        return this.fail('unexpected end of the file');
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.parseNumber();
        return this.fail(`unexpected character ${JSON.stringify(c)}`);
    }
  }

  private literal<T>(word: string, value: T): T {
    if (this.text.startsWith(word, this.i)) {
      this.i += word.length;
      return value;
    }
    return this.fail(`unexpected character ${JSON.stringify(this.text[this.i])}`);
  }

  private parseNumber(): number {
    const m = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    m.lastIndex = this.i;
    const found = m.exec(this.text);
    if (found === null) return this.fail('malformed number');
    this.i = m.lastIndex;
    return Number(found[0]);
  }

  private parseString(): string {
    const t = this.text;
    const start = this.i;
    let j = this.i + 1;
    for (; j < t.length; j++) {
      const c = t.charCodeAt(j);
      if (c === 0x22) break;
      if (c === 0x5c) j++;
      else if (c < 0x20) {
        this.i = j;
        this.fail('a control character (a line break?) inside a string');
      }
    }
    if (j >= t.length) this.fail('a string is not closed');
    this.i = j + 1;
    try {
      return JSON.parse(t.slice(start, j + 1)) as string;
    } catch {
      this.i = start;
      return this.fail('malformed escape in a string');
    }
  }

  private parseArray(path: string): unknown[] {
    this.i++; // [
    const out: unknown[] = [];
    this.skipSpace();
    if (this.text[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      out.push(this.parseValue(childPath(path, out.length)));
      this.skipSpace();
      const c = this.text[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === ']') {
        this.i++;
        return out;
      }
      this.fail(
        c === undefined ? 'an array is not closed' : `expected "," or "]", found ${JSON.stringify(c)}`,
      );
    }
  }

  private parseObject(path: string): Record<string, unknown> {
    this.i++; // {
    const out: Record<string, unknown> = {};
    this.skipSpace();
    if (this.text[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.i] !== '"') this.fail('expected a key in double quotes');
      const keyAt = this.here();
      const key = this.parseString();
      if (Object.hasOwn(out, key)) {
        throw new JsonSyntaxError(`the key ${JSON.stringify(key)} appears twice in one object`, keyAt);
      }
      this.skipSpace();
      if (this.text[this.i] !== ':') this.fail('expected ":" after a key');
      this.i++;
      this.skipSpace();
      // defineProperty: a key named __proto__ is data, as JSON.parse makes it.
      Object.defineProperty(out, key, {
        value: this.parseValue(childPath(path, key)),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.skipSpace();
      const c = this.text[this.i];
      if (c === ',') {
        this.i++;
        continue;
      }
      if (c === '}') {
        this.i++;
        return out;
      }
      this.fail(
        c === undefined ? 'an object is not closed' : `expected "," or "}", found ${JSON.stringify(c)}`,
      );
    }
  }
}
