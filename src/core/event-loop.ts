/**
 * Resolves in the event loop's check phase (setImmediate), after the poll phase has read every
 * request that arrived: the way long work yields to I/O between its slices (the experiment router's
 * flushes, the shadow mirror, the optimizer's timing loop), and the way answers are grouped. An
 * answer sent from there goes out with the other answers of the turn. On the 2-core machine, a bare
 * fastify handler that awaited this before answering served 1.45× the requests of the same handler
 * answering straight from the poll phase, and a bare stored-prediction lookup up to 1.45×
 * (docs/benchmarks.md, session 12); Ferry's batcher and cache hits answer this way.
 *
 * Every caller of one turn shares one setImmediate. With one each, every answer took its own pass
 * through Node's immediate and tick queues: /predict answered from the cache (each hit waits here)
 * served 13 % more requests once they shared it (median of 10 alternated rounds, session 13).
 */
let waiting: (() => void)[] | undefined;

function resolveWaiting(): void {
  const resolvers = waiting!;
  waiting = undefined;
  for (const resolve of resolvers) resolve();
}

export function nextCheckPhase(): Promise<void> {
  return new Promise((resolve) => {
    if (waiting === undefined) {
      waiting = [resolve];
      setImmediate(resolveWaiting);
    } else waiting.push(resolve);
  });
}
