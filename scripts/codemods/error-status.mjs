#!/usr/bin/env node
/**
 * Codemod for issue 9 item 5: a FerryError's status comes from ERROR_CODES in src/core/errors.ts,
 * so `new FerryError(code, message, { status: 400, ... })` loses its `status` option.
 *
 *   node scripts/codemods/error-status.mjs            # rewrite src/, test/, bench/ (tracked *.ts)
 *   node scripts/codemods/error-status.mjs --check    # only list what it would change; exit 1 if any
 *   node scripts/codemods/error-status.mjs a.ts b.ts  # only these files
 *
 * A `status` is removed only when the code is static (`ErrorCode.X` or 'FERRY_X') and the status is
 * the number the catalogue gives that code: then nothing changes at run time. Any other `status`
 * (another number, an expression, a code in a variable) is left where it is and listed: decide by
 * hand (use the code whose status it is, or add a code), and `tsc` fails on it until then, since
 * FerryError no longer takes a status. Idempotent: a second run finds nothing. Rewritten files are
 * formatted with Biome (`--no-format` to skip).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import ts from 'typescript';

const args = process.argv.slice(2);
const check = args.includes('--check');
const format = !args.includes('--no-format');
const given = args.filter((a) => !a.startsWith('--'));
const files =
  given.length > 0
    ? given
    : execFileSync('git', ['ls-files', '--', 'src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'], {
        encoding: 'utf8',
      })
        .split('\n')
        .filter(Boolean);

/** code → status, read from the ERROR_CODES object literal of src/core/errors.ts. */
function catalogue() {
  const path = 'src/core/errors.ts';
  const sf = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const statuses = new Map();
  const visit = (n) => {
    if (ts.isVariableDeclaration(n) && n.name.getText(sf) === 'ERROR_CODES') {
      let init = n.initializer;
      while (init && (ts.isSatisfiesExpression(init) || ts.isAsExpression(init))) init = init.expression;
      for (const p of init.properties) {
        const spec = p.initializer.properties.find((q) => q.name.getText(sf) === 'status');
        statuses.set(p.name.getText(sf).replace(/['"]/g, ''), Number(spec.initializer.getText(sf)));
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  if (statuses.size === 0) throw new Error(`no ERROR_CODES table found in ${path}`);
  return statuses;
}

function staticCode(arg, sf) {
  if (arg === undefined) return undefined;
  if (ts.isStringLiteralLike(arg)) return arg.text;
  if (ts.isPropertyAccessExpression(arg) && arg.expression.getText(sf) === 'ErrorCode') {
    return `FERRY_${arg.name.text}`;
  }
  return undefined;
}

const statuses = catalogue();
const changed = [];
const byHand = [];

for (const file of files) {
  const text = readFileSync(file, 'utf8');
  if (!text.includes('FerryError')) continue;
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const edits = []; // [start, end] ranges to delete
  const visit = (n) => {
    if (ts.isNewExpression(n) && n.expression.getText(sf) === 'FerryError' && n.arguments?.length >= 3) {
      const [codeArg, messageArg, opts] = n.arguments;
      if (ts.isObjectLiteralExpression(opts)) {
        const props = opts.properties;
        const i = props.findIndex((p) => p.name?.getText(sf) === 'status');
        if (i >= 0) {
          const prop = props[i];
          const code = staticCode(codeArg, sf);
          const value = ts.isPropertyAssignment(prop) ? prop.initializer.getText(sf) : undefined;
          const where = `${file}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`;
          const expected = code === undefined ? undefined : statuses.get(code);
          if (expected === undefined || value !== String(expected)) {
            byHand.push(
              `${where}: ${codeArg.getText(sf)} with status ${value ?? prop.getText(sf)}` +
                (expected === undefined
                  ? ' (code not static or not in ERROR_CODES)'
                  : ` (the catalogue says ${expected})`),
            );
          } else if (props.length === 1) {
            edits.push([messageArg.end, opts.end]); // `, { status: 400 }` goes entirely
          } else if (i < props.length - 1) {
            edits.push([prop.getStart(sf), props[i + 1].getStart(sf)]);
          } else {
            edits.push([props[i - 1].end, prop.end]);
          }
        }
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  if (edits.length === 0) continue;
  changed.push(`${file} (${edits.length})`);
  if (check) continue;
  let out = text;
  for (const [start, end] of edits.sort((a, b) => b[0] - a[0])) out = out.slice(0, start) + out.slice(end);
  writeFileSync(file, out);
}

const rewritten = changed.map((c) => c.replace(/ \(\d+\)$/, ''));
if (!check && format && rewritten.length > 0) {
  execFileSync('npx', ['biome', 'format', '--write', ...rewritten], { stdio: 'inherit' });
}
process.stdout.write(
  `${check ? 'would rewrite' : 'rewrote'} ${changed.length} file(s)${changed.length ? `:\n  ${changed.join('\n  ')}` : ''}\n`,
);
if (byHand.length > 0) {
  process.stdout.write(`left for a decision by hand (${byHand.length}):\n  ${byHand.join('\n  ')}\n`);
}
process.exitCode = (check && changed.length > 0) || byHand.length > 0 ? 1 : 0;
