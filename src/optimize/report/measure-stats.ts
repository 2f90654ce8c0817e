import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { nextCheckPhase } from '../../core/event-loop.js';

/*
 * The small statistics and process probes behind the report's figures: medians, nearest-rank
 * percentiles, a forced garbage collection and the memory counters it is read around.
 */

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in [0, 100]) of a non-empty list: a value that was observed, never interpolated. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError('percentile of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

let collect: (() => void) | undefined;

/**
 * A function that runs a full garbage collection. Node only exposes `gc` with --expose-gc; setting
 * the flag at run time and reading `gc` from a fresh context gives one without asking users (or the
 * test runner) to start node with a flag.
 */
function forceGc(): void {
  if (collect === undefined) {
    const own = (globalThis as { gc?: () => void }).gc;
    if (typeof own === 'function') collect = own;
    else {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    }
  }
  collect();
}

/**
 * Full collections until the heap settles: one is not enough (objects with finalizers or weak
 * references go in a later round, after the event loop turns), and the leftovers read as noise of
 * tens of kilobytes either way.
 */
export async function settleGc(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    forceGc();
    await nextCheckPhase();
  }
  forceGc();
}

/** The memory JavaScript holds: the V8 heap in use plus ArrayBuffers (typed arrays, Buffers) outside it. */
export function heldBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Milliseconds since an arbitrary origin, with sub-millisecond resolution. */
export function nowMs(): number {
  return performance.now();
}
