import { ErrorCode, FerryError } from '../../core/errors.js';
import { NETWORK_ERROR_CODES, scrubSecret } from '../server-url.js';
import { describeTarget, type PostgresTarget } from './postgres-target.js';

/** Node network errors and SQLSTATEs that mean "the server cannot be reached or refuses us". */
const UNAVAILABLE_CODES = new Set([
  ...NETWORK_ERROR_CODES,
  '28000', // invalid_authorization_specification
  '28P01', // invalid_password
  '3D000', // invalid_catalog_name: the database does not exist
  '53300', // too_many_connections
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
]);

const LOCKED_CODES = new Set([
  '55P03', // lock_not_available: lock_timeout expired
  '40P01', // deadlock_detected
]);

function errorCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

function scrubbedMessage(e: unknown, target: PostgresTarget): string {
  const message = e instanceof Error ? e.message : String(e);
  return scrubSecret(message, target.secret);
}

/** Any failure while getting a connection: the database is unavailable, whatever the driver says. */
export function connectError(e: unknown, target: PostgresTarget): FerryError {
  if (e instanceof FerryError) return e;
  return new FerryError(
    ErrorCode.DB_UNAVAILABLE,
    `cannot connect to PostgreSQL at ${describeTarget(target)}: ${scrubbedMessage(e, target)}`,
    { details: detailsOf(e, target), cause: e },
  );
}

/** Maps an error raised by a statement on an open connection. */
export function statementError(e: unknown, target: PostgresTarget): FerryError {
  if (e instanceof FerryError) return e;
  const code = errorCode(e);
  const message = scrubbedMessage(e, target);
  if (LOCKED_CODES.has(code)) {
    return new FerryError(
      ErrorCode.DB_LOCKED,
      `PostgreSQL at ${describeTarget(target)} could not get a lock in time: ${message}`,
      { details: detailsOf(e, target), cause: e },
    );
  }
  if (UNAVAILABLE_CODES.has(code) || code.startsWith('08') || /connection terminated/i.test(message)) {
    return connectError(e, target);
  }
  return new FerryError(ErrorCode.DB_ERROR, `PostgreSQL error: ${message}`, {
    details: detailsOf(e, target),
    cause: e,
  });
}

function detailsOf(e: unknown, target: PostgresTarget): Record<string, unknown> {
  return { host: target.host, port: target.port, database: target.database, pgCode: errorCode(e) };
}
