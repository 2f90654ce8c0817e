/**
 * Builds and runs the repository's Dockerfile with podman on a machine that reaches no registry of
 * base images (the sandbox Ferry is developed and tested in), for test/deploy/container.test.ts and
 * bench/deploy/container.ts.
 *
 * - Base images are made from this machine: a root file system holding /usr/bin/node with the
 *   shared libraries `ldd` names, /etc/passwd and /etc/group with `node` (uid/gid 1000) as the
 *   official node images have, imported with `podman import`. The runtime stage uses it as is.
 * - The build stage's image is the same file system with a few variables; during its RUN steps
 *   the host's /usr (npm, python3, make, g++ and Node's headers under /usr/include/node),
 *   /etc/alternatives (cc → gcc), the CA bundle (the egress proxy's certificate) and the npm cache
 *   (~/.npm, so the registry is asked only for what it lacks) are mounted read-only, except the
 *   cache. None of these mounts is part of any layer.
 * - Containers run with the runtime wrapper test/helpers/oci-runtime/runc (see its comment):
 *   this sandbox cannot set rlimits.
 *
 * Base images and the build's layer cache are kept between runs on purpose: they make a second run
 * fast (a changed src/ rebuilds from the compile step; package.json or the lock from npm ci).
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  copyFile,
  mkdir,
  mkdtemp,
  realpath,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
/** The OCI runtime wrapper that drops rlimits (this sandbox lacks CAP_SYS_RESOURCE). */
const OCI_RUNTIME = join(REPO_ROOT, 'test/helpers/oci-runtime/runc');
const NODE_BIN = '/usr/bin/node';
const CA_BUNDLE = process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt';

export function podmanInstalled(): boolean {
  return spawnSync('podman', ['--version'], { stdio: 'ignore' }).status === 0;
}

interface PodmanResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs `podman --runtime <wrapper> …args`; rejects on a non-zero exit unless `allowFailure`. */
export function podman(
  args: readonly string[],
  opts: { allowFailure?: boolean; timeoutMs?: number } = {},
): Promise<PodmanResult> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      'podman',
      ['--runtime', OCI_RUNTIME, ...args],
      { maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 120_000, cwd: REPO_ROOT },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        if (code !== 0 && !opts.allowFailure)
          reject(
            new Error(
              `podman ${args.slice(0, 3).join(' ')} … exited ${code}: ${stderr.slice(-4000) || err?.message}`,
            ),
          );
        else resolvePromise({ stdout, stderr, code });
      },
    );
  });
}

async function imageExists(ref: string): Promise<boolean> {
  return (await podman(['image', 'exists', ref], { allowFailure: true })).code === 0;
}

/** The shared libraries `ldd` says a binary needs, as absolute paths. */
function sharedLibraries(binary: string): string[] {
  const out = spawnSync('ldd', [binary], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`ldd ${binary} failed: ${out.stderr}`);
  return [...out.stdout.matchAll(/(\/[^\s]+)\s+\(0x/g)].map((m) => m[1]!);
}

async function makeNodeRootfsTar(): Promise<{ tar: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-rootfs-'));
  const root = join(dir, 'root');
  for (const d of [
    'usr/bin',
    'usr/sbin',
    'usr/lib/x86_64-linux-gnu',
    'usr/lib64',
    'usr/local/bin',
    'etc',
    'root',
  ])
    await mkdir(join(root, d), { recursive: true });
  // Merged /usr, as Debian bookworm: /bin/sh and friends resolve through the host's /usr mounted at
  // build time, and the dynamic loader's path /lib64/ld-linux-x86-64.so.2 resolves in the image.
  for (const [link, target] of [
    ['bin', 'usr/bin'],
    ['sbin', 'usr/sbin'],
    ['lib', 'usr/lib'],
    ['lib64', 'usr/lib64'],
  ] as const)
    await symlink(target, join(root, link));
  await mkdir(join(root, 'tmp'));
  await chmod(join(root, 'tmp'), 0o1777);
  await mkdir(join(root, 'home/node'), { recursive: true });
  await chown(join(root, 'home/node'), 1000, 1000);
  await copyFile(NODE_BIN, join(root, 'usr/bin/node'));
  await chmod(join(root, 'usr/bin/node'), 0o755);
  for (const lib of sharedLibraries(NODE_BIN)) {
    const where =
      lib.startsWith('/lib64/') || lib.startsWith('/usr/lib64/') ? 'usr/lib64' : 'usr/lib/x86_64-linux-gnu';
    await copyFile(await realpath(lib), join(root, where, basename(lib)));
  }
  await writeFile(
    join(root, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n',
  );
  await writeFile(join(root, 'etc/group'), 'root:x:0:\nnode:x:1000:\n');
  const tar = join(dir, 'rootfs.tar');
  const r = spawnSync('tar', ['-C', root, '-cf', tar, '.'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
  return { tar, remove: () => rm(dir, { recursive: true, force: true }) };
}

interface BaseImages {
  runtime: string;
  build: string;
}

/** Imports the two base images once per Node version (kept: the build cache hangs on their ids). */
async function ensureBaseImages(): Promise<BaseImages> {
  const tag = process.version.replace(/^v/, '');
  const images: BaseImages = {
    runtime: `localhost/ferry-test-node:${tag}`,
    build: `localhost/ferry-test-node-build:${tag}`,
  };
  if ((await imageExists(images.runtime)) && (await imageExists(images.build))) return images;
  const { tar, remove } = await makeNodeRootfsTar();
  try {
    const path = 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
    await podman(['import', '--change', path, '--change', 'CMD ["node"]', tar, images.runtime]);
    await podman([
      'import',
      '--change',
      path,
      // node-gyp builds against the headers of the host's Node (/usr/include/node) instead of
      // downloading them; npm answers from the mounted cache first; node trusts the proxy's CA.
      '--change',
      'ENV npm_config_nodedir=/usr',
      '--change',
      'ENV npm_config_prefer_offline=true',
      '--change',
      `ENV NODE_EXTRA_CA_CERTS=${CA_BUNDLE}`,
      tar,
      images.build,
    ]);
  } finally {
    await remove();
  }
  return images;
}

/**
 * better-sqlite3's install script (prebuild-install) first looks for its prebuilt binary in the npm
 * cache (`_prebuilds/<hash>-better-sqlite3-v…-node-v115-linux-x64.tar.gz`), then downloads it from
 * GitHub, then compiles it. GitHub is out of reach here, and compiling sqlite3 takes minutes on this
 * 2-core machine, so by default the test puts the binary npm built on this machine for this same
 * Node (node_modules/better-sqlite3) where prebuild-install looks: the image then takes the path
 * an ordinary build takes (a prebuilt binary, no compiler). FERRY_TEST_CONTAINER_COMPILE=1 leaves
 * the directory empty and builds with --no-cache, so the build compiles, as it does for a user
 * without network (minutes: docs/deployment/container.md).
 * Returns the directory to mount at /root/.npm/_prebuilds.
 */
async function prebuildCacheDir(): Promise<string> {
  const dir = join(
    tmpdir(),
    `ferry-test-prebuilds-${process.env.FERRY_TEST_CONTAINER_COMPILE === '1' ? 'empty' : 'seeded'}`,
  );
  await mkdir(dir, { recursive: true });
  if (process.env.FERRY_TEST_CONTAINER_COMPILE === '1') return dir;
  const pkgDir = join(REPO_ROOT, 'node_modules/better-sqlite3');
  const require = createRequire(join(pkgDir, 'package.json'));
  const util = require('prebuild-install/util') as {
    getDownloadUrl(opts: Record<string, unknown>): string;
    cachedPrebuild(url: string): string;
  };
  const url = util.getDownloadUrl({
    pkg: require('./package.json') as unknown,
    runtime: 'node',
    abi: process.versions.modules,
    platform: process.platform,
    arch: process.arch,
    libc: '',
    'tag-prefix': 'v',
  });
  const tarball = join(dir, basename(util.cachedPrebuild(url)));
  if (!existsSync(tarball)) {
    const r = spawnSync(
      'tar',
      ['-czf', `${tarball}.tmp`, '-C', pkgDir, 'build/Release/better_sqlite3.node'],
      {
        encoding: 'utf8',
      },
    );
    if (r.status !== 0) throw new Error(`tar of better_sqlite3.node failed: ${r.stderr}`);
    await rename(`${tarball}.tmp`, tarball);
  }
  return dir;
}

/** `podman build` of the repository's Dockerfile on the local base images; tags every name given. */
export async function buildImage(
  tags: readonly string[],
  opts: { timeoutMs?: number } = {},
): Promise<PodmanResult> {
  const base = await ensureBaseImages();
  const npmCache = join(homedir(), '.npm');
  await mkdir(npmCache, { recursive: true });
  const volumes = [
    '/usr:/usr:ro',
    '/etc/alternatives:/etc/alternatives:ro',
    `${npmCache}:/root/.npm`,
    `${await prebuildCacheDir()}:/root/.npm/_prebuilds:ro`,
  ];
  if (existsSync('/etc/ssl/certs')) volumes.push('/etc/ssl/certs:/etc/ssl/certs:ro');
  return podman(
    [
      'build',
      // The compile path is measured from scratch: a cached npm ci layer would skip it.
      ...(process.env.FERRY_TEST_CONTAINER_COMPILE === '1' ? ['--no-cache'] : []),
      // OCI image configs have no HEALTHCHECK: the docker format keeps it.
      '--format',
      'docker',
      '--network',
      'host',
      ...volumes.flatMap((v) => ['--volume', v]),
      '--build-arg',
      `NODE_IMAGE=${base.runtime}`,
      '--build-arg',
      `BUILD_IMAGE=${base.build}`,
      ...tags.flatMap((t) => ['--tag', t]),
      '--file',
      join(REPO_ROOT, 'Dockerfile'),
      REPO_ROOT,
    ],
    { timeoutMs: opts.timeoutMs ?? 900_000 },
  );
}

/** Polls `url` until it answers 200; resolves with the milliseconds waited. */
export async function waitFor200(url: string, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const ok = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${url} not 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
