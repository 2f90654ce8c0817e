import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The course data lives beside the project in ../shared (never committed). Tests that need it run
 * whenever it is there; in CI (CI=true) it must be there, so those tests fail instead of skipping.
 */
const COURSE_DIR = resolve(process.env.FERRY_COURSE_DATA ?? '../shared/datasets/madewithml');
export const COURSE_DATASET = resolve(COURSE_DIR, 'dataset.csv');

export const hasCourseData = existsSync(COURSE_DATASET) || process.env.CI === 'true';
