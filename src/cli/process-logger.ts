import type { Logger } from 'pino';
import { createLogger, loadLogSettings } from '../core/logger.js';

let shared: Logger | undefined;

/**
 * The one logger of a long-running command (`start`, `serve` and each of its workers, `batch
 * worker`), built once from FERRY_LOG_LEVEL and FERRY_LOG_FORMAT: readable on a terminal, JSON lines
 * otherwise, the same in every process.
 */
export function processLogger(): Logger {
  shared ??= createLogger(loadLogSettings(process.env)).logger;
  return shared;
}
