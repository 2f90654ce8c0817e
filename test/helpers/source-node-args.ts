import { pathToFileURL } from 'node:url';

/**
 * Node flags that run Ferry from source: tsx in the main thread and in worker threads (the batch
 * job predicts in one). Pass them to `node`, or to the tsx binary (which forwards them).
 */
export const SOURCE_NODE_ARGS: readonly string[] = [
  '--import',
  'tsx',
  '--import',
  pathToFileURL(`${import.meta.dirname}/tsx-in-workers.mjs`).href,
];

/** The same for the tsx binary, which already registers tsx in the main thread. */
export const TSX_WORKER_ARGS: readonly string[] = SOURCE_NODE_ARGS.slice(2);
