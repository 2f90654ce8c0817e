/** Input checks shared by the statistics: bad aggregates are a caller's error, not a NaN to return. */
import { ErrorCode, FerryError } from '../../core/errors.js';

export function invalidStatsInput(message: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError(ErrorCode.EXPERIMENT_INVALID_STATS_INPUT, message, { details });
}

export function requireFinite(name: string, value: number): void {
  if (!Number.isFinite(value)) throw invalidStatsInput(`${name} must be a finite number`, { [name]: value });
}

export function requirePositive(name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw invalidStatsInput(`${name} must be a positive number`, { [name]: value });
  }
}

export function requireNonNegative(name: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw invalidStatsInput(`${name} must be a non-negative number`, { [name]: value });
  }
}

export function requireCount(name: string, value: number, min = 0): void {
  if (!(Number.isInteger(value) && value >= min)) {
    throw invalidStatsInput(`${name} must be an integer >= ${min}`, { [name]: value });
  }
}

/** Strictly inside (0, 1): alpha, power and rates where 0 or 1 would make a formula degenerate. */
export function requireOpenUnit(name: string, value: number): void {
  if (!(value > 0 && value < 1)) throw invalidStatsInput(`${name} must be within (0, 1)`, { [name]: value });
}
