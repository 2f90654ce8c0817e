import type { DeployParams, DeployTargetSpec, RenderedFile } from '../deploy-types.js';

/**
 * The `container` target: a multi-stage Dockerfile (Podman or Docker), its .dockerignore and a
 * compose.yaml for the scale-out setup (PostgreSQL registry, Redis cache, NATS JetStream). The
 * repository commits the defaults' rendering at its root, so `podman build -t ferry:0.1.0 .` works
 * from a checkout; test/deploy/container.test.ts builds and runs that image for real.
 */

/** Seconds of grace a stop gives beyond the drain time, so the runtime never SIGKILLs a drain. */
const STOP_MARGIN_S = 5;

function stopGraceSeconds(p: DeployParams): number {
  return Math.ceil(p.shutdownTimeoutMs / 1000) + STOP_MARGIN_S;
}

function header(p: DeployParams, what: string): string {
  return `# ${what}
# Rendered by \`ferry deploy render container\` (Ferry ${p.ferryVersion}); edit the flags, not this file,
# or keep your edits and stop re-rendering. Guide: docs/deployment/container.md.
`;
}

function dockerfile(p: DeployParams): string {
  const grace = stopGraceSeconds(p);
  // One line of JavaScript: slim images have no curl or wget, and node is there anyway.
  const probe = `fetch('http://127.0.0.1:'+(process.env.PORT||${p.port})+'/v2/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`;
  return `${header(p, 'Ferry serving image: `podman build -t ' + p.image + ' .` (or `docker build`).')}
# The base image of both stages. The official slim image is the ordinary path; any image with
# Node 20 at /usr/local/bin or /usr/bin and a \`node\` user (uid/gid 1000) fits.
ARG NODE_IMAGE=node:20-bookworm-slim
# The build stage's image. better-sqlite3 (the embedded registry database) is a native addon: its
# install script downloads a prebuilt binary for this Node ABI and platform. When it cannot (no
# network to GitHub, another libc or CPU), it compiles one with node-gyp, which needs python3, make,
# g++ and Node's headers: the slim image has none of them and the build stops at that step. Then
# pass \`--build-arg BUILD_IMAGE=node:20-bookworm\` (the full image carries the toolchain and the
# headers under /usr/local; set npm_config_nodedir=/usr/local if node-gyp cannot download them).
# The runtime stage stays slim either way.
ARG BUILD_IMAGE=\${NODE_IMAGE}

FROM \${BUILD_IMAGE} AS build
WORKDIR /app
# Dependencies first: this layer is reused as long as package.json and the lock do not change.
# --ignore-scripts because the root package's \`prepare\` (tsc) would run before the sources are
# here, and so that only the install script this image needs runs, whatever the npm version
# (package.json's allowScripts is honoured by npm 11, not by the npm 10 of Node 20 images).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \\
 && npm rebuild better-sqlite3 \\
 && node -e "new (require('better-sqlite3'))(':memory:').close()"
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY ui ./ui
COPY data ./data
# Compile (tsc) and build the dashboard (Vite, into dist/ui), then drop the dev dependencies
# (TypeScript, Vite, linters, test tools), the sources, the native addon's sources and
# onnxruntime-node's binaries for other systems (about 220 MB of its 290 MB).
RUN npm run build \\
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \\
 && rm -rf src ui node_modules/better-sqlite3/deps node_modules/better-sqlite3/src \\
      node_modules/better-sqlite3/build/Release/obj node_modules/better-sqlite3/build/Release/obj.target \\
 && node -e "const fs=require('fs'),d='node_modules/onnxruntime-node/bin/napi-v6';if(fs.existsSync(d))for(const os of fs.readdirSync(d))for(const a of fs.readdirSync(d+'/'+os))if(os!==process.platform||a!==process.arch)fs.rmSync(d+'/'+os+'/'+a,{recursive:true})"
# Bake a model in, so that \`podman run -p ${p.port}:${p.port} ${p.image}\` answers /predict at once: the
# built-in classifier trained on the sample dataset shipped in data/ (rough, but real), registered
# as ${p.model.name}@${p.model.alias} in an embedded registry under /app/.ferry. A deployment with
# FERRY_DB=postgres://… ignores it and serves what that registry's alias points at.
# --no-tune: the default hyperparameters, no cross-validation (the sample is too small for tuning
# to mean much, and it saves most of the step's time); --promote: the first version of an empty
# registry passes the gate.
# The commit recorded with the baked version: \`--build-arg FERRY_GIT_COMMIT=$(git rev-parse HEAD)\`
# (there is no .git in the build context).
ARG FERRY_GIT_COMMIT=
RUN FERRY_HOME=/app/.ferry FERRY_LOG_FORMAT=json node dist/cli/index.js train \\
      --dataset-loc /app/data/sample-dataset.csv --name ${p.model.name} --alias ${p.model.alias} \\
      --promote --no-tune \\
 && mkdir -p /var/lib/ferry

FROM \${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \\
    FERRY_HOME=/app/.ferry \\
    FERRY_HOST=0.0.0.0 \\
    PORT=${p.port} \\
    FERRY_MODELS=${p.model.name} \\
    FERRY_ALIASES=${p.model.alias} \\
    FERRY_SHUTDOWN_TIMEOUT_MS=${p.shutdownTimeoutMs} \\
    FERRY_LOG_FORMAT=json
WORKDIR /app
# The code belongs to root: the server cannot change it. Only the embedded registry (/app/.ferry:
# SQLite database, artifacts, prediction log) and /var/lib/ferry (an empty mount point, owned by
# the server so that a named volume created there is writable: compose.yaml's shared artifacts)
# belong to uid 1000. No RUN here: the stage needs no shell.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/data ./data
COPY --from=build --chown=1000:1000 /app/.ferry ./.ferry
COPY --from=build --chown=1000:1000 /var/lib/ferry /var/lib/ferry
# Numeric, not \`node\`: Kubernetes' runAsNonRoot can only verify a numeric user.
USER 1000:1000
EXPOSE ${p.port}
# \`ferry serve\` drains on SIGTERM: it stops accepting connections, answers the requests in flight,
# flushes the prediction log and exits 0 (1 after FERRY_SHUTDOWN_TIMEOUT_MS). Node runs as PID 1
# without tini on purpose: the kernel drops signals to PID 1 only when it has no handler, and the
# server installs its own for SIGTERM and SIGINT; it starts no processes it does not wait for
# itself (FERRY_WORKERS > 1 forks cluster workers, which the primary reaps), so there are no
# zombies for an init to collect. \`docker run --init\` adds tini if you add processes that need one.
# Give the runtime a stop timeout above the drain time: \`podman run --stop-timeout ${grace}\`,
# \`docker stop -t ${grace}\`, compose's stop_grace_period, Kubernetes' terminationGracePeriodSeconds.
STOPSIGNAL SIGTERM
# Ready, not merely live: /v2/health/ready is 503 until the model is loaded and warm.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \\
  CMD ["node", "-e", "${probe}"]
ENTRYPOINT ["node", "dist/cli/index.js"]
CMD ["serve"]
`;
}

function dockerignore(p: DeployParams): string {
  return `${header(p, 'What `podman build .` sends to the builder: only what the Dockerfile copies.')}
# An allow-list: everything else stays out of the build context, so the host's node_modules
# (built for the host), dist/, .ferry/ (registries, caches), .git, test and bench output, coverage,
# logs and secrets in .env files never reach an image or invalidate a cached layer.
*
!package.json
!package-lock.json
!tsconfig.json
!tsconfig.build.json
!src/
!ui/
!data/
# Tests beside sources, if any, are not part of the image.
src/**/*.test.ts
`;
}

function compose(p: DeployParams): string {
  const grace = stopGraceSeconds(p);
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose interpolates it, not JavaScript.
  const db = 'postgres://ferry:${FERRY_PG_PASSWORD:-ferry}@postgres:5432/ferry';
  return `${header(p, 'Ferry scaled out: `podman compose up` / `docker compose up` (build the image first or let compose build it).')}
# The server keeps its registry in PostgreSQL, its prediction cache in Redis and its streams in
# NATS JetStream; artifacts live in a volume shared by the one-shot \`ferry-init\` (which trains and
# registers ${p.model.name}@${p.model.alias} from the sample data when the registry has none) and the
# servers. Scale the servers with \`--scale ferry=3\` after removing the fixed host port.
# The passwords here suit a laptop; in production give FERRY_PG_PASSWORD and FERRY_ADMIN_TOKEN from
# a secret store.
name: ${p.appName}

x-ferry-env: &ferry-env
  FERRY_DB: ${db}
  FERRY_ARTIFACTS: /var/lib/ferry/artifacts
  FERRY_CACHE: redis://redis:6379
  FERRY_STREAM_URL: nats://nats:4222
  FERRY_MODELS: ${p.model.name}
  FERRY_ALIASES: ${p.model.alias}
  # The root file system is read-only (below): whatever the embedded defaults would write goes to
  # the tmpfs.
  FERRY_HOME: /tmp/ferry
  FERRY_LOG_FORMAT: json

services:
  postgres:
    image: postgres:16-bookworm
    environment:
      POSTGRES_USER: ferry
      POSTGRES_PASSWORD: \${FERRY_PG_PASSWORD:-ferry}
      POSTGRES_DB: ferry
    volumes:
      - postgres-data:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "ferry", "-d", "ferry"]
      interval: 5s
      timeout: 3s
      retries: 20

  redis:
    image: redis:7-bookworm
    # A cache: nothing worth keeping on disk.
    command: ["redis-server", "--save", "", "--appendonly", "no"]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
      interval: 5s
      timeout: 3s
      retries: 20

  nats:
    image: nats:2.10-alpine
    # -js: JetStream, stored in the volume; -m: the monitoring port the healthcheck asks.
    command: ["-js", "-sd", "/data", "-m", "8222"]
    volumes:
      - nats-data:/data
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8222/healthz?js-enabled-only=true"]
      interval: 5s
      timeout: 3s
      retries: 20

  ferry-init:
    image: ${p.image}
    build: .
    # \`start\` trains and promotes only when ${p.model.name}@${p.model.alias} is missing; it never replaces one.
    command: ["start", "--no-serve"]
    environment:
      <<: *ferry-env
      DATASET_LOC: \${DATASET_LOC:-/app/data/sample-dataset.csv}
    volumes:
      - artifacts:/var/lib/ferry
    depends_on:
      postgres:
        condition: service_healthy
    restart: "no"

  ferry:
    image: ${p.image}
    environment:
      <<: *ferry-env
      PORT: "${p.port}"
      FERRY_SHUTDOWN_TIMEOUT_MS: "${p.shutdownTimeoutMs}"
      FERRY_ADMIN_TOKEN: \${FERRY_ADMIN_TOKEN:-}
    ports:
      - "${p.port}:${p.port}"
    volumes:
      - artifacts:/var/lib/ferry:ro
    read_only: true
    tmpfs:
      - /tmp
    # The server drains on SIGTERM for FERRY_SHUTDOWN_TIMEOUT_MS; the grace period is a little longer.
    stop_signal: SIGTERM
    stop_grace_period: ${grace}s
    # The image's HEALTHCHECK (GET /v2/health/ready) applies; restart unless stopped on purpose.
    restart: unless-stopped
    depends_on:
      postgres:
        condition: service_healthy
      redis:
        condition: service_healthy
      nats:
        condition: service_healthy
      ferry-init:
        condition: service_completed_successfully

volumes:
  postgres-data:
  nats-data:
  artifacts:
`;
}

export const containerSpec: DeployTargetSpec = {
  target: 'container',
  description:
    'a multi-stage Dockerfile (non-root, drains on SIGTERM, model baked in), .dockerignore and compose.yaml',
  defaultOut: 'deploy/container',
  committedOut: '.',
  render(params: DeployParams): RenderedFile[] {
    return [
      { path: 'Dockerfile', content: dockerfile(params) },
      { path: '.dockerignore', content: dockerignore(params) },
      { path: 'compose.yaml', content: compose(params) },
    ];
  },
};
