import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FERRY_VERSION } from '../../../src/core/version.js';
import { parseDeployOptions } from '../../../src/deploy/deploy-options.js';
import { DEPLOY_TARGETS } from '../../../src/deploy/deploy-types.js';
import { deployTargetSpecs } from '../../../src/deploy/targets.js';

const ROOT = resolve(import.meta.dirname, '../../..');

describe('the committed deployment files are the defaults rendered (npm run deploy:render -- --write)', () => {
  for (const spec of deployTargetSpecs()) {
    it(`${spec.target} → ${spec.committedOut}`, () => {
      const files = spec.render(parseDeployOptions({}, FERRY_VERSION));
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        const path = join(ROOT, spec.committedOut, f.path);
        expect(readFileSync(path, 'utf8'), `${path} is stale: npm run deploy:render -- --write`).toBe(
          f.content,
        );
        expect(statSync(path).mode & 0o111, `${path} mode`).toBe((f.mode ?? 0o644) & 0o111);
      }
    });
  }

  it('every target has a renderer', () => {
    expect(
      deployTargetSpecs()
        .map((s) => s.target)
        .sort(),
    ).toEqual([...DEPLOY_TARGETS].sort());
  });
});
