import { parseServerUrl, safeDecode } from '../server-url.js';

/** Where a PostgreSQL URL points, for error messages: never carries the password. */
export interface PostgresTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  /** Kept only to scrub it from driver messages; never shown. */
  secret: string;
}

export function parsePostgresUrl(url: string): PostgresTarget {
  const parsed = parseServerUrl(url, 'PostgreSQL', ['postgres:', 'postgresql:']);
  return {
    host: parsed.hostname || parsed.searchParams.get('host') || 'localhost',
    port: parsed.port === '' ? 5432 : Number(parsed.port),
    database: safeDecode(parsed.pathname.replace(/^\//, '')),
    user: safeDecode(parsed.username),
    secret: safeDecode(parsed.password),
  };
}

export function describeTarget(t: PostgresTarget): string {
  const who = t.user === '' ? '' : ` as user ${t.user}`;
  return `${t.host}:${t.port}/${t.database}${who}`;
}
