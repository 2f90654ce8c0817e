/**
 * The Prometheus text exposition format (version 0.0.4), as `GET /metrics` answers it: pure, no
 * DOM, so node tests import it as the dashboard does.
 *
 * - `# TYPE name kind` lines give each family's kind; `# HELP` and other comments are skipped;
 * - a sample is `name{label="value",...} value [timestamp]`; label values escape `\\`, `\"` and
 *   `\n`; values are Go floats: `+Inf`, `-Inf`, `NaN`, exponent notation (`1.5e-05`);
 * - a line that does not parse is skipped (counted in `skipped`), never thrown: one odd line from
 *   a future metric must not blank the page.
 */

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  readonly name: string;
  readonly labels: Labels;
  readonly value: number;
}

export type MetricKind = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Exposition {
  readonly samples: readonly Sample[];
  /** Family name → kind, from the `# TYPE` lines. */
  readonly types: ReadonlyMap<string, MetricKind>;
  /** Lines that were neither a comment nor a sample. */
  readonly skipped: number;
}

const NAME_START = /[a-zA-Z_:]/;
const NAME_CHAR = /[a-zA-Z0-9_:]/;
const LABEL_START = /[a-zA-Z_]/;
const LABEL_CHAR = /[a-zA-Z0-9_]/;
const KINDS: ReadonlySet<string> = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A Go float as Prometheus writes it; NaN for anything else (the sample is then skipped). */
export function parseValue(text: string): number {
  switch (text) {
    case '+Inf':
    case 'Inf':
      return Number.POSITIVE_INFINITY;
    case '-Inf':
      return Number.NEGATIVE_INFINITY;
    case 'NaN':
      return Number.NaN;
    default:
      return FLOAT.test(text) ? Number(text) : Number.NaN;
  }
}

class Malformed extends Error {}

/** One sample line; throws Malformed. */
function parseSampleLine(line: string): Sample {
  let i = 0;
  const n = line.length;
  if (!NAME_START.test(line[0] ?? '')) throw new Malformed();
  while (i < n && NAME_CHAR.test(line[i]!)) i++;
  const name = line.slice(0, i);
  const labels: Record<string, string> = {};
  const skipSpaces = () => {
    while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
  };
  skipSpaces();
  if (line[i] === '{') {
    i++;
    for (;;) {
      skipSpaces();
      if (line[i] === '}') {
        i++;
        break;
      }
      const start = i;
      if (!LABEL_START.test(line[i] ?? '')) throw new Malformed();
      while (i < n && LABEL_CHAR.test(line[i]!)) i++;
      const key = line.slice(start, i);
      skipSpaces();
      if (line[i] !== '=') throw new Malformed();
      i++;
      skipSpaces();
      if (line[i] !== '"') throw new Malformed();
      i++;
      let value = '';
      for (;;) {
        if (i >= n) throw new Malformed();
        const c = line[i]!;
        if (c === '"') {
          i++;
          break;
        }
        if (c === '\\') {
          const e = line[i + 1];
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else if (e === undefined) throw new Malformed();
          else value += `\\${e}`; // not an escape the format defines: kept as written
          i += 2;
        } else {
          value += c;
          i++;
        }
      }
      labels[key] = value;
      skipSpaces();
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new Malformed();
    }
  }
  skipSpaces();
  const rest = line
    .slice(i)
    .trim()
    .split(/[ \t]+/);
  const valueText = rest[0];
  if (valueText === undefined || valueText === '' || rest.length > 2) throw new Malformed();
  const value = parseValue(valueText);
  if (Number.isNaN(value) && valueText !== 'NaN') throw new Malformed();
  return { name, labels, value };
}

export function parseExposition(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, MetricKind>();
  let skipped = 0;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+TYPE\s+(\S+)\s+(\S+)\s*$/.exec(line);
      if (m && KINDS.has(m[2]!)) types.set(m[1]!, m[2] as MetricKind);
      continue;
    }
    try {
      samples.push(parseSampleLine(line));
    } catch (e) {
      if (!(e instanceof Malformed)) throw e;
      skipped++;
    }
  }
  return { samples, types, skipped };
}

/** A stable key of a label set (sorted), for grouping series across scrapes. */
export function labelKey(labels: Labels, omit?: string): string {
  return Object.keys(labels)
    .filter((k) => k !== omit)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',');
}
