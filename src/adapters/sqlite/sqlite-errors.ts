import { ErrorCode, FerryError } from '../../core/errors.js';

function sqliteCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** Maps a better-sqlite3 (or file system) error to a FerryError, keeping the original as `cause`. */
export function toSqliteFerryError(e: unknown, path: string): FerryError {
  if (e instanceof FerryError) return e;
  const code = sqliteCode(e);
  const message = e instanceof Error ? e.message : String(e);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new FerryError(
      ErrorCode.DB_LOCKED,
      `SQLite database ${path} is locked by another writer and stayed locked past busy_timeout: ${message}`,
      { details: { path, sqliteCode: code }, cause: e },
    );
  }
  if (
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_NOTADB') ||
    code === 'EACCES' ||
    code === 'EROFS' ||
    code === 'ENOTDIR' ||
    code === 'EEXIST'
  ) {
    return new FerryError(ErrorCode.DB_UNAVAILABLE, `cannot open SQLite database ${path}: ${message}`, {
      details: { path, sqliteCode: code },
      cause: e,
    });
  }
  return new FerryError(ErrorCode.DB_ERROR, `SQLite error on ${path}: ${message}`, {
    details: { path, sqliteCode: code },
    cause: e,
  });
}
