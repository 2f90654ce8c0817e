/**
 * Test-only preload (`node --import tsx --import <this file>`): lets worker threads started by code
 * run from source load .ts files. On Node 20 tsx's own `--import tsx` registers its loader in the
 * main thread only, and the batch job's predictor starts its worker on `predict-worker.ts` when run
 * from source. The built code never needs this: its worker is plain JavaScript.
 * Plain JavaScript itself, because in a worker it runs before any TypeScript loader exists.
 */
import { isMainThread } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

if (!isMainThread) register();
