export * from './bayesian.js';
export * from './distributions.js';
export * from './msprt.js';
export * from './multiple-comparisons.js';
export * from './power.js';
export * from './srm.js';
export * from './two-proportion-test.js';
export * from './welch-test.js';
