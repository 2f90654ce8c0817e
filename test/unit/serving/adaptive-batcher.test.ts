import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode, FerryError } from '../../../src/core/errors.js';
import { seededRandom } from '../../../src/core/random.js';
import {
  AdaptiveBatcher,
  type BatcherOptions,
  type BatchRunner,
  type BatchStats,
} from '../../../src/serving/adaptive-batcher.js';

/** One runner call held open until the test says so: the batcher stays busy meanwhile. */
interface Call<I> {
  items: I[];
  release(): void;
  throwAll(error: unknown): void;
}

function controlledRunner<I, O>(fn: (x: I) => O | Error, onRelease?: (items: I[]) => void) {
  const calls: Call<I>[] = [];
  const waiters: (() => void)[] = [];
  let taken = 0;
  const run: BatchRunner<I, O> = (items) =>
    new Promise((resolve, reject) => {
      const copy = [...items];
      calls.push({
        items: copy,
        release: () => {
          onRelease?.(copy);
          resolve(copy.map(fn));
        },
        throwAll: reject,
      });
      for (const w of waiters.splice(0)) w();
    });
  async function next(): Promise<Call<I>> {
    while (calls.length <= taken) await new Promise<void>((r) => waiters.push(r));
    return calls[taken++]!;
  }
  return { run, calls, next };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
async function ticks(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await tick();
}

function track<T>(p: Promise<T>): { done: boolean; value?: T; error?: unknown } {
  const state: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (value) => {
      state.done = true;
      state.value = value;
    },
    (error: unknown) => {
      state.done = true;
      state.error = error;
    },
  );
  return state;
}

/** Attaches a handler at once, so a rejection that the test checks later is never reported as unhandled. */
function settled<T>(p: Promise<T>): Promise<PromiseSettledResult<T>> {
  return p.then(
    (value) => ({ status: 'fulfilled', value }),
    (reason: unknown) => ({ status: 'rejected', reason }),
  );
}

const double = (x: number) => x * 2;
const badInput = () => new FerryError(ErrorCode.MODEL_INVALID_INPUT, 'bad item');

/** Only timeouts and Date are faked: setImmediate stays real so the batcher's dispatch still happens. */
function fakeTimeouts(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('AdaptiveBatcher: idle and ordering', () => {
  it('runs a single submit at once when idle, arming no timer, and keeps outputs in input order', async () => {
    fakeTimeouts();
    const r = controlledRunner(double);
    const stats: BatchStats[] = [];
    const b = new AdaptiveBatcher(
      r.run,
      { maxBatchSize: 8, maxQueueSize: 100 },
      { onBatch: (s) => stats.push(s) },
    );
    const p = b.submit([3, 1, 2]);
    expect(vi.getTimerCount()).toBe(0);
    const call = await r.next();
    expect(call.items).toEqual([3, 1, 2]);
    expect(b.busy).toBe(true);
    expect(b.queuedItems).toBe(0);
    call.release();
    await expect(p).resolves.toEqual([6, 2, 4]);
    await tick();
    expect(b.busy).toBe(false);
    expect(stats).toEqual([{ size: 3, requests: 1, queueMs: 0, computeMs: 0 }]);
  });

  it('accepts a synchronous runner and resolves an empty request at once', async () => {
    const calls: number[][] = [];
    const b = new AdaptiveBatcher<number, number>(
      (items) => {
        calls.push([...items]);
        return items.map(double);
      },
      { maxBatchSize: 4, maxQueueSize: 10 },
    );
    await expect(b.submit([5, 6])).resolves.toEqual([10, 12]);
    await expect(b.submit([])).resolves.toEqual([]);
    expect(calls).toEqual([[5, 6]]);
  });

  it('yields to the event loop between batches so I/O gets in', async () => {
    const marks: string[] = [];
    const b = new AdaptiveBatcher<number, number>(
      (items) => {
        marks.push(`batch ${items.join(',')}`);
        return items.map(double);
      },
      { maxBatchSize: 2, maxQueueSize: 10 },
      {
        onBatch: () => {
          if (marks.length === 1) setImmediate(() => marks.push('io'));
        },
      },
    );
    await Promise.all([b.submit([1, 2]), b.submit([3, 4]), b.submit([5, 6])]);
    expect(marks).toEqual(['batch 1,2', 'io', 'batch 3,4', 'batch 5,6']);
  });
});

describe('AdaptiveBatcher: combining while busy', () => {
  it('combines the requests that arrived during a batch into one next batch', async () => {
    const r = controlledRunner(double);
    const stats: BatchStats[] = [];
    const b = new AdaptiveBatcher(
      r.run,
      { maxBatchSize: 10, maxQueueSize: 100 },
      { onBatch: (s) => stats.push(s) },
    );
    const a = b.submit([1]);
    const first = await r.next();
    const rest = [b.submit([2, 3]), b.submit([4, 5, 6]), b.submit([7])];
    await ticks();
    expect(r.calls).toHaveLength(1);
    expect(b.queuedItems).toBe(6);
    first.release();
    const second = await r.next();
    expect(second.items).toEqual([2, 3, 4, 5, 6, 7]);
    expect(b.queuedItems).toBe(0);
    second.release();
    await expect(a).resolves.toEqual([2]);
    await expect(Promise.all(rest)).resolves.toEqual([[4, 6], [8, 10, 12], [14]]);
    expect(stats.map((s) => [s.size, s.requests])).toEqual([
      [1, 1],
      [6, 3],
    ]);
  });

  it('never exceeds maxBatchSize and never splits a request that fits in one batch', async () => {
    const r = controlledRunner(double);
    const b = new AdaptiveBatcher(r.run, { maxBatchSize: 4, maxQueueSize: 100 });
    const ps = [b.submit([1])];
    const first = await r.next();
    ps.push(b.submit([2, 3]), b.submit([4, 5, 6]), b.submit([7]));
    first.release();
    const second = await r.next();
    // [4,5,6] does not fit the 2 places left, and it fits a batch of its own, so it waits whole.
    expect(second.items).toEqual([2, 3]);
    second.release();
    const third = await r.next();
    expect(third.items).toEqual([4, 5, 6, 7]);
    third.release();
    await expect(Promise.all(ps)).resolves.toEqual([[2], [4, 6], [8, 10, 12], [14]]);
  });

  it('splits a request larger than maxBatchSize over consecutive batches and reassembles it in order', async () => {
    const r = controlledRunner(double);
    const b = new AdaptiveBatcher(r.run, { maxBatchSize: 4, maxQueueSize: 100 });
    const a = b.submit([100]);
    const first = await r.next();
    const big = Array.from({ length: 10 }, (_, i) => i);
    const pBig = b.submit(big);
    const pC = b.submit([50]);
    first.release();
    const sizes: number[][] = [];
    for (let i = 0; i < 3; i++) {
      const call = await r.next();
      sizes.push(call.items);
      call.release();
    }
    expect(sizes).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9, 50],
    ]);
    await expect(a).resolves.toEqual([200]);
    await expect(pBig).resolves.toEqual(big.map(double));
    await expect(pC).resolves.toEqual([100]);
  });
});

describe('AdaptiveBatcher: maxQueueDelayMs', () => {
  it('waits up to maxQueueDelayMs after the first queued item for others to join', async () => {
    fakeTimeouts();
    const r = controlledRunner(double);
    const stats: BatchStats[] = [];
    const b = new AdaptiveBatcher(
      r.run,
      { maxBatchSize: 4, maxQueueDelayMs: 10, maxQueueSize: 100 },
      { onBatch: (s) => stats.push(s) },
    );
    const p1 = b.submit([1]);
    await ticks();
    expect(r.calls).toHaveLength(0);
    vi.advanceTimersByTime(5);
    const p2 = b.submit([2]);
    vi.advanceTimersByTime(4);
    await ticks();
    expect(r.calls).toHaveLength(0);
    vi.advanceTimersByTime(1);
    const call = await r.next();
    expect(call.items).toEqual([1, 2]);
    call.release();
    await expect(Promise.all([p1, p2])).resolves.toEqual([[2], [4]]);
    expect(stats[0]).toMatchObject({ size: 2, requests: 2, queueMs: 10 });
  });

  it('runs as soon as the batch is full, without waiting out the delay', async () => {
    fakeTimeouts();
    const r = controlledRunner(double);
    const b = new AdaptiveBatcher(r.run, { maxBatchSize: 4, maxQueueDelayMs: 60_000, maxQueueSize: 100 });
    const ps = [b.submit([1, 2]), b.submit([3, 4])];
    const call = await r.next();
    expect(call.items).toEqual([1, 2, 3, 4]);
    call.release();
    await expect(Promise.all(ps)).resolves.toEqual([
      [2, 4],
      [6, 8],
    ]);
  });

  it('runs at once after a batch when the queued items already waited longer than the delay', async () => {
    fakeTimeouts();
    const r = controlledRunner(double);
    const b = new AdaptiveBatcher(r.run, { maxBatchSize: 4, maxQueueDelayMs: 10, maxQueueSize: 100 });
    const a = b.submit([1]);
    vi.advanceTimersByTime(10);
    const first = await r.next();
    const pB = b.submit([2]);
    vi.advanceTimersByTime(20);
    first.release();
    const second = await r.next();
    expect(second.items).toEqual([2]);
    second.release();
    await expect(Promise.all([a, pB])).resolves.toEqual([[2], [4]]);
  });
});

describe('AdaptiveBatcher: error isolation', () => {
  it('fails only the request that owns an item the runner returned as an Error', async () => {
    const r = controlledRunner((x: number) => (x < 0 ? badInput() : x * 2));
    const b = new AdaptiveBatcher(r.run, { maxBatchSize: 10, maxQueueSize: 100 });
    const a = b.submit([0]);
    const first = await r.next();
    const pB = b.submit([1, 2]);
    const pC = b.submit([3, -4]);
    const pD = b.submit([5]);
    first.release();
    const second = await r.next();
    expect(second.items).toEqual([1, 2, 3, -4, 5]);
    second.release();
    await expect(a).resolves.toEqual([0]);
    await expect(pB).resolves.toEqual([2, 4]);
    await expect(pC).rejects.toMatchObject({ code: ErrorCode.MODEL_INVALID_INPUT });
    await expect(pD).resolves.toEqual([10]);
    expect(r.calls).toHaveLength(2);
  });

  it('re-runs each request alone once when the runner throws for the whole batch', async () => {
    const r = controlledRunner(double);
    const stats: BatchStats[] = [];
    const b = new AdaptiveBatcher(
      r.run,
      { maxBatchSize: 10, maxQueueSize: 100 },
      { onBatch: (s) => stats.push(s) },
    );
    const a = b.submit([0]);
    const first = await r.next();
    const pB = b.submit([1]);
    const pC = settled(b.submit([-1, 2]));
    const pD = b.submit([3]);
    first.release();
    const whole = await r.next();
    expect(whole.items).toEqual([1, -1, 2, 3]);
    whole.throwAll(badInput());
    const aloneB = await r.next();
    expect(aloneB.items).toEqual([1]);
    aloneB.release();
    const aloneC = await r.next();
    expect(aloneC.items).toEqual([-1, 2]);
    aloneC.throwAll(badInput());
    const aloneD = await r.next();
    expect(aloneD.items).toEqual([3]);
    aloneD.release();
    await expect(a).resolves.toEqual([0]);
    await expect(pB).resolves.toEqual([2]);
    expect(await pC).toMatchObject({ status: 'rejected', reason: { code: ErrorCode.MODEL_INVALID_INPUT } });
    await expect(pD).resolves.toEqual([6]);
    expect(stats.map((s) => [s.size, s.requests])).toEqual([
      [1, 1],
      [4, 3],
      [1, 1],
      [2, 1],
      [1, 1],
    ]);
  });

  it('does not re-run a batch of a single request that threw', async () => {
    const r = controlledRunner(double);
    const b = new AdaptiveBatcher(r.run, { maxBatchSize: 10, maxQueueSize: 100 });
    const p = b.submit([1, 2]);
    (await r.next()).throwAll(badInput());
    await expect(p).rejects.toMatchObject({ code: ErrorCode.MODEL_INVALID_INPUT });
    await ticks();
    expect(r.calls).toHaveLength(1);
  });

  it('fails with FERRY_INTERNAL when the runner returns the wrong number of outputs or throws a non-Error', async () => {
    const short = new AdaptiveBatcher<number, number>(() => [1], { maxBatchSize: 10, maxQueueSize: 100 });
    await expect(short.submit([1, 2])).rejects.toMatchObject({ code: ErrorCode.INTERNAL });
    const odd = new AdaptiveBatcher<number, number>(
      () => {
        throw 'not an error';
      },
      { maxBatchSize: 10, maxQueueSize: 100 },
    );
    await expect(odd.submit([1])).rejects.toMatchObject({ code: ErrorCode.INTERNAL });
  });

  it('keeps serving when the onBatch hook throws', async () => {
    const b = new AdaptiveBatcher<number, number>(
      (items) => items.map(double),
      { maxBatchSize: 10, maxQueueSize: 100 },
      {
        onBatch: () => {
          throw new Error('metrics down');
        },
      },
    );
    await expect(b.submit([1])).resolves.toEqual([2]);
    await expect(b.submit([2])).resolves.toEqual([4]);
  });
});

describe('AdaptiveBatcher: load shedding', () => {
  it('rejects with FERRY_SERVING_OVERLOADED when the queue is full, and loses no accepted request', async () => {
    const r = controlledRunner(double);
    const b = new AdaptiveBatcher(r.run, { maxBatchSize: 10, maxQueueSize: 5 });
    const a = b.submit([1]);
    const first = await r.next();
    const pB = b.submit([2, 3, 4]);
    const pC = b.submit([5, 6]);
    expect(b.queuedItems).toBe(5);
    const err = await b.submit([7]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FerryError);
    const fe = err as FerryError;
    expect(fe.code).toBe(ErrorCode.SERVING_OVERLOADED);
    expect(fe.status).toBe(503);
    expect(Number.isInteger(fe.details.retryAfterSeconds)).toBe(true);
    expect(fe.details.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    first.release();
    const second = await r.next();
    expect(second.items).toEqual([2, 3, 4, 5, 6]);
    second.release();
    await expect(Promise.all([a, pB, pC])).resolves.toEqual([[2], [4, 6, 8], [10, 12]]);
    const pE = b.submit([8]);
    (await r.next()).release();
    await expect(pE).resolves.toEqual([16]);
  });

  it('estimates retryAfterSeconds from the queue length and the per-item compute time', async () => {
    let t = 0;
    const r = controlledRunner(double, (items) => {
      t += items.length * 1000;
    });
    const b = new AdaptiveBatcher(r.run, { maxBatchSize: 10, maxQueueSize: 5 }, { now: () => t });
    const a = b.submit([1]);
    (await r.next()).release();
    await a;
    const pB = b.submit([2]);
    const running = await r.next();
    const queued = [b.submit([3, 4, 5]), b.submit([6, 7])];
    await expect(b.submit([8])).rejects.toMatchObject({
      code: ErrorCode.SERVING_OVERLOADED,
      details: { retryAfterSeconds: 5 },
    });
    running.release();
    (await r.next()).release();
    await expect(Promise.all([pB, ...queued])).resolves.toEqual([[4], [6, 8, 10], [12, 14]]);
  });

  it('rejects a request that can never fit the queue with FERRY_SERVING_REQUEST_TOO_LARGE', async () => {
    const b = new AdaptiveBatcher<number, number>((items) => items.map(double), {
      maxBatchSize: 2,
      maxQueueSize: 3,
    });
    await expect(b.submit([1, 2, 3, 4])).rejects.toMatchObject({
      code: ErrorCode.SERVING_REQUEST_TOO_LARGE,
      status: 413,
    });
    await expect(b.submit([1, 2, 3])).resolves.toEqual([2, 4, 6]);
  });
});

describe('AdaptiveBatcher: deadlines', () => {
  it('rejects a request whose deadline passes while queued and never computes its items', async () => {
    fakeTimeouts();
    const r = controlledRunner(double);
    const b = new AdaptiveBatcher(r.run, { maxBatchSize: 10, maxQueueSize: 100 });
    const a = b.submit([1]);
    const first = await r.next();
    const pB = b.submit([2, 3], { deadline: Date.now() + 100 });
    const pC = b.submit([4]);
    const stateB = track(pB);
    vi.advanceTimersByTime(99);
    await ticks();
    expect(stateB.done).toBe(false);
    vi.advanceTimersByTime(1);
    const err = await pB.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.SERVING_DEADLINE, status: 503 });
    expect((err as FerryError).details.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(b.queuedItems).toBe(1);
    first.release();
    const second = await r.next();
    expect(second.items).toEqual([4]);
    second.release();
    await expect(Promise.all([a, pC])).resolves.toEqual([[2], [8]]);
    expect(r.calls.flatMap((c) => c.items)).not.toContain(2);
    expect(r.calls.flatMap((c) => c.items)).not.toContain(3);
  });

  it('drops an expired request when the next batch forms, even if its timer has not fired', async () => {
    let t = 0;
    const r = controlledRunner(double);
    const b = new AdaptiveBatcher(r.run, { maxBatchSize: 10, maxQueueSize: 100 }, { now: () => t });
    const a = b.submit([1]);
    const first = await r.next();
    const pB = b.submit([2], { deadline: 100 });
    const pC = b.submit([3]);
    t = 150;
    first.release();
    await expect(pB).rejects.toMatchObject({ code: ErrorCode.SERVING_DEADLINE });
    const second = await r.next();
    expect(second.items).toEqual([3]);
    second.release();
    await expect(Promise.all([a, pC])).resolves.toEqual([[2], [6]]);
  });

  it('rejects at submit when the estimated wait already exceeds the deadline', async () => {
    let t = 0;
    const r = controlledRunner(double, (items) => {
      t += items.length * 10;
    });
    const b = new AdaptiveBatcher(r.run, { maxBatchSize: 10, maxQueueSize: 100 }, { now: () => t });
    // A deadline already past is refused even before any compute time is known.
    await expect(b.submit([1], { deadline: t })).rejects.toMatchObject({ code: ErrorCode.SERVING_DEADLINE });
    const a = b.submit([1]);
    (await r.next()).release();
    await a;
    const pB = b.submit([2]);
    const running = await r.next();
    const pC = b.submit([3, 4, 5, 6, 7]);
    // 5 queued items at 10 ms each: 50 ms of wait.
    const err = await b.submit([8], { deadline: t + 20 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.SERVING_DEADLINE, status: 503 });
    expect((err as FerryError).details.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    const pD = b.submit([9], { deadline: t + 100 });
    running.release();
    (await r.next()).release();
    await expect(Promise.all([pB, pC, pD])).resolves.toEqual([[4], [6, 8, 10, 12, 14], [18]]);
  });
});

describe('AdaptiveBatcher: drain', () => {
  it('finishes what is queued and running, and refuses new work meanwhile', async () => {
    const r = controlledRunner(double);
    const b = new AdaptiveBatcher(r.run, { maxBatchSize: 10, maxQueueSize: 100 });
    const a = b.submit([1]);
    const first = await r.next();
    const pB = b.submit([2]);
    const drained = track(b.drain());
    await expect(b.submit([3])).rejects.toMatchObject({ code: ErrorCode.SERVING_SHUTTING_DOWN, status: 503 });
    await ticks();
    expect(drained.done).toBe(false);
    first.release();
    const second = await r.next();
    expect(second.items).toEqual([2]);
    await ticks();
    expect(drained.done).toBe(false);
    second.release();
    await b.drain();
    await expect(Promise.all([a, pB])).resolves.toEqual([[2], [4]]);
    expect(b.busy).toBe(false);
    expect(b.queuedItems).toBe(0);
  });

  it('does not wait out maxQueueDelayMs once draining, and resolves at once when idle', async () => {
    fakeTimeouts();
    const r = controlledRunner(double);
    const b = new AdaptiveBatcher(r.run, { maxBatchSize: 10, maxQueueDelayMs: 60_000, maxQueueSize: 100 });
    const p = b.submit([1]);
    await ticks();
    expect(r.calls).toHaveLength(0);
    const drained = b.drain();
    (await r.next()).release();
    await drained;
    await expect(p).resolves.toEqual([2]);
    const idle = new AdaptiveBatcher(r.run, { maxBatchSize: 1, maxQueueSize: 1 });
    await expect(idle.drain()).resolves.toBeUndefined();
  });
});

describe('AdaptiveBatcher: options', () => {
  const run: BatchRunner<number, number> = (items) => items.map(double);
  const good: BatcherOptions = { maxBatchSize: 4, maxQueueDelayMs: 0, maxQueueSize: 10 };
  it.each<[string, Partial<BatcherOptions>]>([
    ['maxBatchSize 0', { maxBatchSize: 0 }],
    ['fractional maxBatchSize', { maxBatchSize: 2.5 }],
    ['NaN maxBatchSize', { maxBatchSize: Number.NaN }],
    ['negative maxQueueDelayMs', { maxQueueDelayMs: -1 }],
    ['infinite maxQueueDelayMs', { maxQueueDelayMs: Number.POSITIVE_INFINITY }],
    ['maxQueueSize 0', { maxQueueSize: 0 }],
    ['fractional maxQueueSize', { maxQueueSize: 1.5 }],
  ])('rejects %s with FERRY_CONFIG_INVALID', (_name, patch) => {
    let caught: unknown;
    try {
      new AdaptiveBatcher(run, { ...good, ...patch });
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: ErrorCode.CONFIG_INVALID });
  });

  it('accepts an unbounded queue and a missing maxQueueDelayMs', () => {
    expect(
      () => new AdaptiveBatcher(run, { maxBatchSize: 1, maxQueueSize: Number.POSITIVE_INFINITY }),
    ).not.toThrow();
  });
});

describe('AdaptiveBatcher: property', () => {
  it.each([1, 2, 3, 4, 5, 6])(
    'seed %i: every request gets exactly its own outputs, in order, under random concurrent load',
    async (seed) => {
      const rand = seededRandom(seed);
      const runnerRand = seededRandom(seed * 7919);
      const maxBatchSize = 1 + Math.floor(rand() * 12);
      const maxQueueDelayMs = rand() < 0.5 ? 0 : 1;
      const asyncRunner = seed % 2 === 0;
      const bad = new Set<number>(); // the runner answers an Error for these items
      const poison = new Set<number>(); // the runner throws for any batch holding one of these
      const calls: number[][] = [];
      const run: BatchRunner<number, number> = (items) => {
        calls.push([...items]);
        const compute = () => {
          if (items.some((x) => poison.has(x))) throw badInput();
          return items.map((x) => (bad.has(x) ? badInput() : x * 2));
        };
        if (!asyncRunner) return compute();
        return (async () => {
          for (let k = Math.floor(runnerRand() * 3); k > 0; k--) await tick();
          return compute();
        })();
      };
      const b = new AdaptiveBatcher(run, {
        maxBatchSize,
        maxQueueDelayMs,
        maxQueueSize: Number.POSITIVE_INFINITY,
      });

      let nextItem = 1;
      const owner = new Map<number, number>();
      const requests: { items: number[]; result: Promise<PromiseSettledResult<number[]>> }[] = [];
      for (let id = 0; id < 300; id++) {
        const size = 1 + Math.floor(rand() * maxBatchSize * 2.5);
        const items: number[] = [];
        for (let k = 0; k < size; k++) {
          const x = nextItem++;
          items.push(x);
          owner.set(x, id);
          const roll = rand();
          if (roll < 0.01) poison.add(x);
          else if (roll < 0.03) bad.add(x);
        }
        requests.push({ items, result: settled(b.submit(items)) });
        if (rand() < 0.3) await tick();
      }
      const results = await Promise.all(requests.map((r) => r.result));
      await b.drain();

      results.forEach((res, id) => {
        const { items } = requests[id]!;
        const shouldFail = items.some((x) => bad.has(x) || poison.has(x));
        if (shouldFail) {
          expect(res.status).toBe('rejected');
          if (res.status === 'rejected')
            expect(res.reason).toMatchObject({ code: ErrorCode.MODEL_INVALID_INPUT });
        } else {
          expect(res).toEqual({ status: 'fulfilled', value: items.map(double) });
        }
      });
      for (const call of calls) {
        expect(call.length).toBeLessThanOrEqual(maxBatchSize);
        // Within a call, each request's items form one ascending run; one that fits a batch is whole.
        let i = 0;
        while (i < call.length) {
          const id = owner.get(call[i]!)!;
          let j = i;
          while (j + 1 < call.length && owner.get(call[j + 1]!) === id) {
            expect(call[j + 1]).toBe(call[j]! + 1);
            j++;
          }
          const req = requests[id]!;
          if (req.items.length <= maxBatchSize) expect(j - i + 1).toBe(req.items.length);
          i = j + 1;
        }
      }
      // The load really was batched, and the failure paths really ran.
      expect(calls.some((call) => new Set(call.map((x) => owner.get(x))).size > 1)).toBe(true);
      expect(results.some((res) => res.status === 'rejected')).toBe(true);
      expect(b.queuedItems).toBe(0);
      expect(b.busy).toBe(false);
    },
  );
});
