import { expect } from 'vitest';
import { type ErrorCodeName, FerryError } from '../../src/core/errors.js';

/** Awaits `promise`, expects it to reject with a FerryError of `code`, and returns the error. */
export async function expectFerryError(
  promise: Promise<unknown>,
  code: ErrorCodeName,
  status?: number,
): Promise<FerryError> {
  let caught: unknown;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected a FerryError ${code}`).toBeInstanceOf(FerryError);
  const error = caught as FerryError;
  expect(error.code).toBe(code);
  if (status !== undefined) expect(error.status).toBe(status);
  return error;
}

/** The same for code that throws synchronously. */
export function expectFerryErrorSync(fn: () => unknown, code: ErrorCodeName, status?: number): FerryError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected a FerryError ${code}`).toBeInstanceOf(FerryError);
  const error = caught as FerryError;
  expect(error.code).toBe(code);
  if (status !== undefined) expect(error.status).toBe(status);
  return error;
}
