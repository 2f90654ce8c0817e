import { execFileSync } from 'node:child_process';
import { readSetting } from '../core/settings/read-settings.js';

/** The code's commit, for lineage: from CI's variables, else from git, else unknown (null). */
export function currentGitCommit(): string | null {
  // FERRY_GIT_COMMIT, else CI's GITHUB_SHA or CI_COMMIT_SHA (the setting's fallbacks).
  const fromEnv = readSetting(process.env, 'FERRY_GIT_COMMIT');
  if (fromEnv) return fromEnv;
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 2000,
    });
    const sha = out.toString().trim();
    return /^[0-9a-f]{40}$/.test(sha) ? sha : null;
  } catch {
    return null;
  }
}
