import { ErrorCode, FerryError } from '../../core/errors.js';

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
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (e) {
    throw new FerryError(ErrorCode.CONFIG_INVALID, 'the PostgreSQL URL is not a valid URL', {
      status: 500,
      cause: e,
    });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new FerryError(
      ErrorCode.CONFIG_INVALID,
      `a PostgreSQL URL must start with postgres:// or postgresql://, got ${parsed.protocol}//`,
      { status: 500 },
    );
  }
  return {
    host: parsed.hostname || parsed.searchParams.get('host') || 'localhost',
    port: parsed.port === '' ? 5432 : Number(parsed.port),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')),
    user: decodeURIComponent(parsed.username),
    secret: decodeURIComponent(parsed.password),
  };
}

export function describeTarget(t: PostgresTarget): string {
  const who = t.user === '' ? '' : ` as user ${t.user}`;
  return `${t.host}:${t.port}/${t.database}${who}`;
}
