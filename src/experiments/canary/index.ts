export * from './canary-analysis.js';
export * from './canary-config.js';
export * from './canary-controller.js';
export * from './distribution-distance.js';
export * from './request-stats.js';
