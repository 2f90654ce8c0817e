import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../helpers/serving.js';
import { tmpDir } from '../helpers/tmp-dir.js';

/*
 * The README's HTTP examples, run as written (curl, in README order) against a real server, so
 * that they cannot drift from what the server does. A `curl …` line followed by `# …` comment lines
 * is an example with an expected answer:
 *   `# 201 {...}`                      the status, then the JSON below
 *   `# {"accepted": 1, ...}`           every "key": literal pair in it must appear in the answer
 *   `# x-ferry-arm: treatment, …`      response headers and their values
 * `{...}` and `...` stand for anything. A curl without an expectation must still answer 2xx.
 */
const README = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8');
const PREDICTIONS_TOKEN = 'readme-predictions-token';
const EVENTS_TOKEN = 'readme-events-token';
const FEEDBACK_TOKEN = 'readme-feedback-token';
const run = promisify(execFile);

interface Example {
  line: number;
  command: string;
  expected: string[];
}

/** Every curl command of every ```sh block, with the `# ` lines right after it. */
function examples(): Example[] {
  const out: Example[] = [];
  const lines = README.split('\n');
  let inSh = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('```')) {
      inSh = !inSh && line.trim() === '```sh';
      continue;
    }
    if (!inSh || !line.startsWith('curl ')) continue;
    const start = i;
    let command = line;
    while (command.endsWith('\\')) command = `${command}\n${lines[++i]!}`;
    // A JSON body given over several lines: continue until its closing quote.
    while ((command.match(/'/g)?.length ?? 0) % 2 === 1) command += `\n${lines[++i]!}`;
    const expected: string[] = [];
    while (lines[i + 1]?.startsWith('# ')) expected.push(lines[++i]!.slice(2));
    out.push({ line: start + 1, command: command.replace(/\s+#[^'"\n]*$/, ''), expected });
  }
  return out;
}

/** `"key": literal` pairs of an expectation, compacted as JSON.stringify prints them. */
function literalPairs(text: string): string[] {
  return [...text.matchAll(/"[^"]+":\s*("[^"]*"|-?\d+(?:\.\d+)?|true|false|null)/g)].map((m) =>
    m[0].replace(/":\s+/, '":'),
  );
}

let server: TestServer;
const dir = tmpDir('ferry-readme-');
beforeAll(async () => {
  server = await startTestServer({
    adminToken: ADMIN_TOKEN,
    config: {
      experimentPollMs: 0,
      predictionsToken: PREDICTIONS_TOKEN,
      eventsToken: EVENTS_TOKEN,
      feedbackToken: FEEDBACK_TOKEN,
    },
  });
});
afterAll(async () => {
  await server.close();
  dir.remove();
});

describe('README examples, run as written', () => {
  const all = examples();

  it('finds the examples (prediction, batch lookups, experiments)', () => {
    expect(all.length).toBeGreaterThanOrEqual(6);
    expect(all.filter((e) => e.expected.length > 0).length).toBeGreaterThanOrEqual(4);
  });

  it('every example answers as the README says', async () => {
    const port = new URL(server.url).port;
    for (const example of all) {
      const where = `README.md:${example.line}: ${example.command.split('\n')[0]}`;
      const headerFile = join(dir.path, 'headers');
      const command = `${example.command.replaceAll('localhost:8000', `127.0.0.1:${port}`)} -D ${headerFile} -w '\\n%{http_code}'`;
      const { stdout } = await run('bash', ['-c', command], {
        env: {
          ...process.env,
          FERRY_ADMIN_TOKEN: ADMIN_TOKEN,
          FERRY_PREDICTIONS_TOKEN: PREDICTIONS_TOKEN,
          FERRY_EVENTS_TOKEN: EVENTS_TOKEN,
          FERRY_FEEDBACK_TOKEN: FEEDBACK_TOKEN,
        },
      }).catch((e: { code?: number; stderr?: string }) => {
        throw new Error(`${where}: curl exited ${e.code}: ${e.stderr}`);
      });
      const stderr = readFileSync(headerFile, 'utf8');
      const status = Number(stdout.slice(stdout.lastIndexOf('\n') + 1));
      const body = stdout.slice(0, stdout.lastIndexOf('\n'));
      const headers = stderr.toLowerCase();
      const compact = body.trim().startsWith('{') ? JSON.stringify(JSON.parse(body)) : body;
      // A lookup of an entity no batch job stored is the README's own 404 example.
      if (/\/v1\/predictions\/[^/]+\/42\s*$/.test(example.command.split('#')[0]!.trim())) {
        expect([200, 404], where).toContain(status);
        continue;
      }
      for (const expectation of example.expected) {
        const leadingStatus = /^(\d{3})\b/.exec(expectation);
        if (leadingStatus) expect(status, `${where}: ${body}`).toBe(Number(leadingStatus[1]));
        if (/^[a-z][a-z0-9-]*: /i.test(expectation)) {
          for (const pair of expectation.split(/,\s*/)) {
            const [name, value] = pair.split(/:\s*/) as [string, string];
            expect(headers, `${where}: header ${name}`).toContain(
              `${name.toLowerCase()}: ${value.toLowerCase()}`,
            );
          }
        }
        for (const pair of literalPairs(expectation)) expect(compact, `${where}: ${pair}`).toContain(pair);
      }
      expect(status, `${where}: ${body}`).toBeGreaterThanOrEqual(200);
      expect(status, `${where}: ${body}`).toBeLessThan(300);
    }
  }, 60_000);
});
