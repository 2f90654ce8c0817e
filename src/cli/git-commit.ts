import { execFileSync } from 'node:child_process';

/** The code's commit, for lineage: from CI's variables, else from git, else unknown (null). */
export function currentGitCommit(): string | null {
  const fromEnv = process.env.FERRY_GIT_COMMIT ?? process.env.GITHUB_SHA ?? process.env.CI_COMMIT_SHA;
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
