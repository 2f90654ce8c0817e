import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FERRY_VERSION } from '../../src/core/version.js';
import { parseDeployOptions } from '../../src/deploy/deploy-options.js';
import { lambdaMemoryMb } from '../../src/deploy/targets/lambda.js';
import { deployTargetSpec } from '../../src/deploy/targets.js';
import { ROOT } from './helpers.js';

/*
 * The SAM template of `ferry deploy render lambda`, checked by cfn-lint (which runs the SAM
 * transform and CloudFormation's resource schemas). cfn-lint is a Python tool: the test skips
 * without it on a workstation; in CI (CI set) a missing cfn-lint fails it.
 */
function findCfnLint(): string | undefined {
  for (const candidate of ['cfn-lint', '/root/.pyenv/shims/cfn-lint']) {
    const r = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return candidate;
  }
  return undefined;
}

const cfnLint = findCfnLint();
const skip = cfnLint === undefined && !process.env.CI;
const scratch = mkdtempSync(join(ROOT, '.tmp-sam-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const spec = deployTargetSpec('lambda')!;

function rendered(flags: Parameters<typeof parseDeployOptions>[0]): {
  path: string;
  doc: Record<string, unknown>;
} {
  const files = spec.render(parseDeployOptions(flags, FERRY_VERSION));
  expect(files.map((f) => f.path).sort()).toEqual(['README.md', 'template.yaml']);
  const text = files.find((f) => f.path === 'template.yaml')!.content;
  const path = join(scratch, `${Object.values(flags).join('-') || 'defaults'}.yaml`);
  writeFileSync(path, text);
  // SAM's short-form intrinsics (!Ref, !Sub…) are custom tags to a YAML parser: kept as strings here.
  const scalar = (tag: string) => ({ tag: `!${tag}`, resolve: (v: string) => ({ [tag]: v }) });
  const seq = (tag: string) => ({
    tag: `!${tag}`,
    collection: 'seq' as const,
    resolve: (v: { toJSON(): unknown }) => ({ [tag]: v.toJSON() }),
  });
  const doc = parse(text, {
    customTags: [...['Ref', 'Sub', 'GetAtt'].map(scalar), ...['If', 'Not', 'Equals'].map(seq)] as never,
  }) as Record<string, unknown>;
  return { path, doc };
}

describe('deploy render lambda: the SAM template', () => {
  it('MemorySize from --memory, within what Lambda accepts', () => {
    expect([
      lambdaMemoryMb('512Mi'),
      lambdaMemoryMb('1Gi'),
      lambdaMemoryMb('128M'),
      lambdaMemoryMb('64Gi'),
    ]).toEqual([512, 1024, 128, 10240]);
  });

  it('the function runs the bundle npm run build:lambda makes (CodeUri, handler), on nodejs22.x', () => {
    const { doc } = rendered({});
    const resources = doc.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
    const fn = resources.FerryFunction!;
    expect(fn.Type).toBe('AWS::Serverless::Function');
    const props = fn.Properties;
    expect(props).toMatchObject({
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 30,
    });
    // CodeUri is relative to the template: deploy/lambda → dist-lambda/function, the build's default.
    expect(resolve(ROOT, 'deploy/lambda', props.CodeUri as string)).toBe(
      join(ROOT, 'dist-lambda', 'function'),
    );
    expect(props.Architectures).toEqual(['arm64']);
    expect((props.Events as Record<string, { Type: string }>).HttpApi!.Type).toBe('HttpApi');
    expect(props.FunctionUrlConfig).toEqual({ AuthType: { Ref: 'FunctionUrlAuthType' } });
    const env = (props.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.FERRY_ALIASES).toBe('production');
  });

  it.skipIf(skip)('passes cfn-lint with the defaults and with other flags; a broken one does not', () => {
    const flags = {
      name: 'tagger-eu',
      memory: '2Gi',
      model: 'tagger@staging',
      tokenSecret: 'tagger-admin:bearer',
    };
    const good = [rendered({}).path, rendered(flags).path];
    const broken = join(scratch, 'broken.yaml');
    writeFileSync(broken, readFileSync(good[0]!, 'utf8').replace('nodejs22.x', 'nodejs99.x'));
    // One run for the three files: cfn-lint's start (the SAM translator, the schemas) is most of its time.
    const r = spawnSync(cfnLint ?? 'cfn-lint', ['--format', 'parseable', ...good, broken], {
      encoding: 'utf8',
    });
    expect(r.error, 'cfn-lint is not installed (pip install cfn-lint)').toBeUndefined();
    const lines = r.stdout
      .trim()
      .split('\n')
      .filter((l) => l !== '');
    expect(lines.filter((l) => !l.startsWith(broken))).toEqual([]);
    expect(lines.some((l) => l.startsWith(broken) && l.includes('nodejs99.x'))).toBe(true);
    const fn = (rendered(flags).doc.Resources as Record<string, { Properties: Record<string, unknown> }>)
      .TaggerEuFunction!;
    expect(fn.Properties).toMatchObject({ FunctionName: 'tagger-eu', MemorySize: 2048 });
    expect(JSON.stringify(fn.Properties.Environment)).toContain('SecretString:bearer}}');
    expect(JSON.stringify(fn.Properties.Environment)).toContain('"FERRY_ALIASES":"staging"');
  });
});
