import { describe, expect, it } from 'vitest';
import { ErrorCode, isFerryError } from '../../../src/core/errors.js';
import {
  parseDeployOptions,
  parseDeployTarget,
  type RawDeployFlags,
} from '../../../src/deploy/deploy-options.js';

function refusal(flags: RawDeployFlags): { code: string; message: string } {
  try {
    parseDeployOptions(flags, '0.1.0');
  } catch (e) {
    if (isFerryError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(flags)}`);
}

describe('deploy render options', () => {
  it('defaults: the built-in app, the image podman build makes, two replicas', () => {
    const p = parseDeployOptions({}, '0.1.0');
    expect(p).toMatchObject({
      appName: 'ferry',
      model: { name: 'tagifai', alias: 'production' },
      image: 'ferry:0.1.0',
      replicas: 2,
      cpu: '1',
      memory: '512Mi',
      namespace: 'ferry',
      port: 8000,
      databaseSecret: { name: 'ferry-db', key: 'url' },
      tokenSecret: { name: 'ferry-admin', key: 'token' },
      shutdownTimeoutMs: 15000,
    });
  });

  it('takes every flag', () => {
    const p = parseDeployOptions(
      {
        model: 'recs@staging',
        image: 'ghcr.io/acme/ferry:1.2.3',
        replicas: '5',
        cpu: '500m',
        memory: '1Gi',
        namespace: 'ml',
        port: '8080',
        name: 'tags',
        dbSecret: 'pg:dsn',
        tokenSecret: 'admin.tok:TOKEN_1',
        shutdownTimeoutMs: '30000',
      },
      '0.1.0',
    );
    expect(p).toMatchObject({
      appName: 'tags',
      model: { name: 'recs', alias: 'staging' },
      image: 'ghcr.io/acme/ferry:1.2.3',
      replicas: 5,
      cpu: '500m',
      memory: '1Gi',
      namespace: 'ml',
      port: 8080,
      databaseSecret: { name: 'pg', key: 'dsn' },
      tokenSecret: { name: 'admin.tok', key: 'TOKEN_1' },
      shutdownTimeoutMs: 30000,
    });
    expect(
      parseDeployOptions({ image: `registry.local:5000/a/b@sha256:${'a'.repeat(64)}` }, '0.1.0').image,
    ).toContain('@sha256:');
  });

  it.each<[RawDeployFlags, string]>([
    [{ replicas: '0' }, '--replicas'],
    [{ replicas: '1001' }, '--replicas'],
    [{ replicas: '2.5' }, '--replicas'],
    [{ replicas: '1e3' }, '--replicas'],
    [{ replicas: '-1' }, '--replicas'],
    [{ cpu: '0' }, '--cpu'],
    [{ cpu: '10m' }, '--cpu'],
    [{ cpu: '65' }, '--cpu'],
    [{ cpu: 'lots' }, '--cpu'],
    [{ memory: '64Mi' }, '--memory'],
    [{ memory: '1Pi' }, '--memory'],
    [{ memory: '512mb' }, '--memory'],
    [{ memory: '999999999999Gi' }, '--memory'],
    [{ namespace: 'Prod' }, '--namespace'],
    [{ namespace: 'a'.repeat(64) }, '--namespace'],
    [{ name: 'x_y' }, '--name'],
    [{ image: 'Ferry:latest' }, '--image'],
    [{ image: 'ferry:1.0\nspec: evil' }, '--image'],
    [{ image: 'ferry; rm -rf /' }, '--image'],
    [{ port: '0' }, '--port'],
    [{ port: '70000' }, '--port'],
    [{ dbSecret: 'ferry-db' }, '--db-secret'],
    [{ dbSecret: 'Ferry:url' }, '--db-secret'],
    [{ tokenSecret: 'a:b c' }, '--token-secret'],
    [{ shutdownTimeoutMs: '50' }, '--shutdown-timeout-ms'],
    [{ shutdownTimeoutMs: '1e308' }, '--shutdown-timeout-ms'],
    [{ cpu: '1e308' }, '--cpu'],
    [{ memory: '99999999999999999999999Gi' }, '--memory'],
    [{ namespace: 'a\u0001b' }, '--namespace'],
    [{ namespace: 'a\u0000b' }, '--namespace'],
    [{ image: 'a'.repeat(20_000) }, '--image'],
    [{ model: 'tagifai/3' }, '--model'],
  ])('refuses %j naming the flag', (flags, flag) => {
    const r = refusal(flags);
    expect(r.code).toBe(ErrorCode.DEPLOY_INVALID);
    expect(r.message.startsWith(`${flag}:`)).toBe(true);
  });

  it('a malformed model reference is the registry code; an unknown target lists the targets', () => {
    expect(refusal({ model: 'Bad Name' }).code).toBe(ErrorCode.REGISTRY_INVALID_REF);
    expect(() => parseDeployTarget('heroku')).toThrow(/the targets are container, kubernetes/);
    expect(parseDeployTarget('kserve')).toBe('kserve');
  });
});
