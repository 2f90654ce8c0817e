import type { DeployTarget, DeployTargetSpec } from './deploy-types.js';
import { containerSpec } from './targets/container.js';

/**
 * The one table of deployment targets. Each entry's renderer lives in `targets/<target>.ts`; the
 * CLI, the committed-files test and `scripts/deploy-render.ts` all read this table.
 */
const SPECS: readonly DeployTargetSpec[] = [containerSpec];

export function deployTargetSpecs(): readonly DeployTargetSpec[] {
  return SPECS;
}

export function deployTargetSpec(target: DeployTarget): DeployTargetSpec | undefined {
  return SPECS.find((s) => s.target === target);
}
