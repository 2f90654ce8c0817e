/**
 * Resolves in the event loop's check phase (setImmediate), after the poll phase has read every
 * request that arrived: the way long work yields to I/O between its slices (the experiment router's
 * flushes, the shadow mirror, the optimizer's timing loop), and the way answers are grouped. An answer sent from there goes out with the other answers of the turn. On
 * the 2-core machine, a bare fastify handler that awaited this before answering served 1.45× the
 * requests of the same handler answering straight from the poll phase, and a bare stored-prediction
 * lookup up to 1.45× (docs/benchmarks.md, session 12); Ferry's batcher and cache hits answer this way.
 */
export function nextCheckPhase(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
