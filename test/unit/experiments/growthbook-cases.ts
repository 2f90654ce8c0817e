/**
 * Loads GrowthBook's published SDK test cases from `../shared/specs/growthbook/cases.json`
 * (relative to the project root). When the file is missing the suites skip with a message, except
 * on CI (CI=true), where a missing spec must fail the run rather than silently test nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CASES_PATH = fileURLToPath(
  new URL('../shared/specs/growthbook/cases.json', `file://${PROJECT_ROOT}`),
);

type Range = [number, number];
export interface GrowthBookCases {
  specVersion: string;
  hash: [seed: string, value: string, version: number, expected: number | null][];
  getBucketRange: [name: string, args: [number, number, number[] | null], expected: Range[]][];
  chooseVariation: [name: string, n: number, ranges: Range[], expected: number][];
  inNamespace: [name: string, id: string, namespace: [string, number, number], expected: boolean][];
  getEqualWeights: [n: number, expected: number[]][];
}

export function loadGrowthBookCases(): GrowthBookCases | undefined {
  if (!existsSync(CASES_PATH)) return undefined;
  return JSON.parse(readFileSync(CASES_PATH, 'utf8')) as GrowthBookCases;
}

export function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}
