import type { DeployTarget, DeployTargetSpec } from './deploy-types.js';
import { containerSpec } from './targets/container.js';
import { GITHUB_ACTIONS_TARGET } from './targets/github-actions.js';
import { kserveTarget } from './targets/kserve.js';
import { kubernetesTarget } from './targets/kubernetes.js';
import { lambdaTarget } from './targets/lambda.js';
import { seldonTarget } from './targets/seldon.js';
import { SYSTEMD_TARGET } from './targets/systemd.js';

/**
 * The one table of deployment targets. Each entry's renderer lives in `targets/<target>.ts`; the
 * CLI, the committed-files test and `scripts/deploy-render.ts` all read this table.
 */
const SPECS: readonly DeployTargetSpec[] = [
  containerSpec,
  kubernetesTarget,
  kserveTarget,
  seldonTarget,
  lambdaTarget,
  SYSTEMD_TARGET,
  GITHUB_ACTIONS_TARGET,
];

export function deployTargetSpecs(): readonly DeployTargetSpec[] {
  return SPECS;
}

export function deployTargetSpec(target: DeployTarget): DeployTargetSpec | undefined {
  return SPECS.find((s) => s.target === target);
}
