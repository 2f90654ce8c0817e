import { readFileSync } from 'node:fs';

/**
 * Ferry's version, from its package.json (one level above src/ and dist/ alike): what `ferry
 * --version` prints and the v2 server metadata reports. Read once, at import.
 */
export const FERRY_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
