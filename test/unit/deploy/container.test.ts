/**
 * The container target's files, checked without an engine: the Dockerfile follows its parameters,
 * the .dockerignore lets in what the Dockerfile copies, and compose.yaml (parsed with `yaml`: no
 * `docker compose` or `podman compose` here to run `config`) wires the services as documented.
 * test/deploy/container.test.ts builds and runs the image for real.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SETTING_NAMES } from '../../../src/core/settings/catalogue.js';
import { FERRY_VERSION } from '../../../src/core/version.js';
import { parseDeployOptions } from '../../../src/deploy/deploy-options.js';
import { containerSpec } from '../../../src/deploy/targets/container.js';

const defaults = parseDeployOptions({}, FERRY_VERSION);
const custom = parseDeployOptions(
  {
    port: '9000',
    model: 'churn@staging',
    shutdownTimeoutMs: '30000',
    image: 'ghcr.io/acme/ferry:1.2.3',
    name: 'churn',
  },
  FERRY_VERSION,
);

function file(params: typeof defaults, path: string): string {
  const f = containerSpec.render(params).find((x) => x.path === path);
  if (!f) throw new Error(`no ${path}`);
  return f.content;
}

/** Variables the server reads: every FERRY_* (and PORT, DATASET_LOC) named must be a real setting. */
const KNOWN = new Set<string>([...SETTING_NAMES, 'NODE_ENV']);

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  read_only?: boolean;
  tmpfs?: string[];
  stop_signal?: string;
  stop_grace_period?: string;
  ports?: string[];
}

describe('container target', () => {
  it('renders Dockerfile, .dockerignore and compose.yaml, the same bytes every time', () => {
    const a = containerSpec.render(defaults);
    expect(a.map((f) => f.path)).toEqual(['Dockerfile', '.dockerignore', 'compose.yaml']);
    expect(containerSpec.render(defaults)).toEqual(a);
    expect(a.map((f) => f.content).join('')).not.toMatch(/20[0-9]{2}-[0-9]{2}-[0-9]{2}/);
  });

  it('Dockerfile: the parameters reach ENV, EXPOSE and the HEALTHCHECK; non-root, SIGTERM, serve', () => {
    const d = file(custom, 'Dockerfile');
    expect(d).toContain('ARG NODE_IMAGE=node:20-bookworm-slim');
    expect(d).toMatch(/^FROM \$\{BUILD_IMAGE\} AS build$/m);
    expect(d).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/m);
    expect(d).toMatch(/^EXPOSE 9000$/m);
    expect(d).toMatch(/PORT=9000 /);
    expect(d).toMatch(/FERRY_MODELS=churn /);
    expect(d).toMatch(/FERRY_ALIASES=staging /);
    // The baked model is the one the image serves.
    expect(d).toContain('--name churn --alias staging');
    expect(d).toMatch(/FERRY_SHUTDOWN_TIMEOUT_MS=30000 /);
    expect(d).toContain("(process.env.PORT||9000)+'/v2/health/ready'");
    expect(d).toMatch(/^USER 1000:1000$/m);
    expect(d).toMatch(/^STOPSIGNAL SIGTERM$/m);
    expect(d).toContain('--stop-timeout 35');
    expect(d).toMatch(/^ENTRYPOINT \["node", "dist\/cli\/index.js"\]\nCMD \["serve"\]$/m);
    // The runtime stage runs nothing: it needs no shell.
    const runtime = d.slice(d.indexOf('AS runtime'));
    expect(runtime).not.toMatch(/^RUN /m);
    // Every variable the image sets is one Ferry reads.
    const env = runtime.slice(runtime.indexOf('ENV '), runtime.indexOf('WORKDIR'));
    const names = [...env.matchAll(/([A-Z_]+)=/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(5);
    for (const n of names) expect(KNOWN.has(n), n).toBe(true);
  });

  it('.dockerignore lets in exactly what the Dockerfile copies from the context', () => {
    const d = file(defaults, 'Dockerfile');
    const ignore = file(defaults, '.dockerignore')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const allowed = ignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    const copied = [...d.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '));
    expect(copied.sort()).toEqual(allowed.sort());
    for (const never of ['node_modules', 'dist', '.ferry', '.git']) expect(allowed).not.toContain(never);
  });

  it('compose.yaml: ferry on PostgreSQL, Redis and NATS JetStream, started after their healthchecks', () => {
    const doc = parse(file(custom, 'compose.yaml'), { merge: true }) as {
      name: string;
      services: Record<string, Service>;
      volumes: Record<string, unknown>;
    };
    expect(doc.name).toBe('churn');
    const s = doc.services;
    expect(Object.keys(s).sort()).toEqual(['ferry', 'ferry-init', 'nats', 'postgres', 'redis']);
    for (const dep of ['postgres', 'redis', 'nats'])
      expect(s[dep]!.healthcheck?.test.length).toBeGreaterThan(1);
    expect(s.nats!.command).toContain('-js');

    const ferry = s.ferry!;
    expect(ferry.image).toBe('ghcr.io/acme/ferry:1.2.3');
    const env = ferry.environment!;
    expect(env.FERRY_DB).toMatch(/^postgres:\/\/ferry:.*@postgres:5432\/ferry$/);
    expect(env.FERRY_CACHE).toBe('redis://redis:6379');
    expect(env.FERRY_STREAM_URL).toBe('nats://nats:4222');
    expect(env.FERRY_MODELS).toBe('churn');
    expect(env.FERRY_ALIASES).toBe('staging');
    expect(env.PORT).toBe('9000');
    expect(ferry.ports).toEqual(['9000:9000']);
    for (const name of Object.keys(env)) expect(KNOWN.has(name), name).toBe(true);
    expect(ferry.depends_on).toEqual({
      postgres: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
      nats: { condition: 'service_healthy' },
      'ferry-init': { condition: 'service_completed_successfully' },
    });
    // Read-only root: whatever is written goes to the tmpfs.
    expect(ferry.read_only).toBe(true);
    expect(ferry.tmpfs).toEqual(['/tmp']);
    expect(env.FERRY_HOME?.startsWith('/tmp/')).toBe(true);
    // Stopping waits longer than the drain.
    expect(ferry.stop_signal).toBe('SIGTERM');
    expect(Number(ferry.stop_grace_period?.replace(/s$/, '')) * 1000).toBeGreaterThan(30_000);

    const init = s['ferry-init']!;
    expect(init.command).toEqual(['start', '--no-serve']);
    expect(init.environment?.FERRY_DB).toBe(env.FERRY_DB);
    expect(init.environment?.FERRY_ARTIFACTS).toBe(env.FERRY_ARTIFACTS);
    // The artifacts the init registers are the ones the servers read.
    const artifactsVolume = (svc: Service) =>
      svc.volumes?.find((v) => v.startsWith('artifacts:'))?.split(':')[1];
    expect(artifactsVolume(init)).toBe(artifactsVolume(ferry));
    expect(env.FERRY_ARTIFACTS?.startsWith(`${artifactsVolume(ferry)}/`)).toBe(true);
    // Every named volume used is declared.
    for (const svc of Object.values(s))
      for (const v of svc.volumes ?? []) expect(Object.keys(doc.volumes), v).toContain(v.split(':')[0]);
  });
});
