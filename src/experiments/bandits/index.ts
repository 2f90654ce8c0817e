export * from './arms.js';
export * from './epsilon-greedy.js';
export * from './reallocate.js';
export * from './thompson.js';
export * from './ucb1.js';
