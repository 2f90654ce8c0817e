import { ErrorCode, FerryError } from '../core/errors.js';

/** Limits on versions loaded on demand (by number, outside the followed aliases). */
export interface OnDemandLimits {
  /**
   * Estimated bytes of on-demand versions kept loaded at once (FERRY_ON_DEMAND_MAX_BYTES). The
   * estimate of a version is its artifact's size, known from the registry before loading it.
   */
  maxBytes: number;
  /** New on-demand loads per minute, at most (FERRY_ON_DEMAND_LOADS_PER_MINUTE). */
  loadsPerMinute: number;
}

const MINUTE_MS = 60_000;

/**
 * Admission of on-demand loads: a version larger than the whole budget is never loaded, and loads
 * beyond the rate wait for the minute to pass (503 with Retry-After). Cycling through versions can
 * therefore neither grow memory past the budget (the host evicts down to it after each load) nor
 * keep the process busy decoding artifacts.
 */
export class OnDemandBudget {
  private readonly loads: number[] = [];

  constructor(
    readonly limits: OnDemandLimits,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Throws SERVING_ON_DEMAND_LIMIT (503) when a version of `estimatedBytes` can never fit. */
  checkSize(name: string, version: number, estimatedBytes: number): void {
    if (estimatedBytes > this.limits.maxBytes) {
      throw new FerryError(
        ErrorCode.SERVING_ON_DEMAND_LIMIT,
        `version ${version} of "${name}" is larger than the on-demand budget; serve it through an alias`,
        { details: { reason: 'budget' } },
      );
    }
  }

  /** Throws SERVING_ON_DEMAND_LIMIT (503, Retry-After) when this minute's loads are used up; else counts one. */
  takeLoad(): void {
    this.assertRate();
    this.loads.push(this.now());
  }

  /**
   * Throws SERVING_ON_DEMAND_LIMIT (503, Retry-After) when this minute's loads are used up, counting
   * nothing: called before any other work, so a client over the rate costs no registry read.
   */
  assertRate(): void {
    const now = this.now();
    while (this.loads.length > 0 && this.loads[0]! <= now - MINUTE_MS) this.loads.shift();
    if (this.loads.length >= this.limits.loadsPerMinute) {
      const retryAfterSeconds = Math.max(1, Math.ceil((this.loads[0]! + MINUTE_MS - now) / 1000));
      throw new FerryError(
        ErrorCode.SERVING_ON_DEMAND_LIMIT,
        `too many versions loaded on demand (${this.limits.loadsPerMinute} a minute); retry later`,
        { details: { reason: 'rate', retryAfterSeconds } },
      );
    }
  }

  /** The error for a load that does not fit beside the loads in progress: retry in a second. */
  busy(name: string, version: number): FerryError {
    return new FerryError(
      ErrorCode.SERVING_ON_DEMAND_LIMIT,
      `version ${version} of "${name}" does not fit in the on-demand budget beside the versions loading now; retry later`,
      { details: { reason: 'budget', retryAfterSeconds: 1 } },
    );
  }
}
