export * from '../shared/latency-histogram.js';
export * from './shadow-mirror.js';
export * from './shadow-stats.js';
