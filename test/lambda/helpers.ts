import { mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildLambda, type LambdaBuildResult } from '../../scripts/build-lambda.js';

export const ROOT = resolve(import.meta.dirname, '../..');

/** A Lambda bundle with the sample-trained model, built into a scratch folder of the checkout. */
export async function scratchBundle(): Promise<{ build: LambdaBuildResult; dispose(): void }> {
  const out = mkdtempSync(join(ROOT, '.tmp-lambda-'));
  const build = await buildLambda({ out });
  return { build, dispose: () => rmSync(out, { recursive: true, force: true }) };
}

export interface Answer {
  statusCode: number;
  statusDescription?: string;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  isBase64Encoded?: boolean;
  cookies?: string[];
  body?: string;
}

export type Handler = (event: unknown, context?: unknown) => Promise<Answer>;

/** The body as JSON (base64-decoded when the answer says so). */
export function bodyOf(a: Answer): Record<string, unknown> {
  const text = a.isBase64Encoded ? Buffer.from(a.body ?? '', 'base64').toString('utf8') : (a.body ?? '');
  return JSON.parse(text) as Record<string, unknown>;
}

/** What a client must never see in an error: a stack frame, a file path, a module folder. */
export function expectNoInternals(a: Answer): void {
  const text = JSON.stringify(a);
  if (/\bat [^\s]+ \(|\/work\/|\/var\/task|node_modules|\.m?[jt]s:\d+/.test(text))
    throw new Error(`the answer leaks internals: ${text.slice(0, 500)}`);
}
