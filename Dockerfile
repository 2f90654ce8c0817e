# Ferry serving image: `podman build -t ferry:0.1.0 .` (or `docker build`).
# Rendered by `ferry deploy render container` (Ferry 0.1.0); edit the flags, not this file,
# or keep your edits and stop re-rendering. Guide: docs/deployment/container.md.

# The base image of both stages. The official slim image is the ordinary path; any image with
# Node 20 at /usr/local/bin or /usr/bin and a `node` user (uid/gid 1000) fits.
ARG NODE_IMAGE=node:20-bookworm-slim
# The build stage's image. better-sqlite3 (the embedded registry database) is a native addon: its
# install script downloads a prebuilt binary for this Node ABI and platform. When it cannot (no
# network to GitHub, another libc or CPU), it compiles one with node-gyp, which needs python3, make,
# g++ and Node's headers: the slim image has none of them and the build stops at that step. Then
# pass `--build-arg BUILD_IMAGE=node:20-bookworm` (the full image carries the toolchain and the
# headers under /usr/local; set npm_config_nodedir=/usr/local if node-gyp cannot download them).
# The runtime stage stays slim either way.
ARG BUILD_IMAGE=${NODE_IMAGE}

FROM ${BUILD_IMAGE} AS build
WORKDIR /app
# Dependencies first: this layer is reused as long as package.json and the lock do not change.
# --ignore-scripts because the root package's `prepare` (tsc) would run before the sources are
# here, and so that only the install script this image needs runs, whatever the npm version
# (package.json's allowScripts is honoured by npm 11, not by the npm 10 of Node 20 images).
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3 \
 && node -e "new (require('better-sqlite3'))(':memory:').close()"
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY ui ./ui
COPY data ./data
# Compile (tsc) and build the dashboard (Vite, into dist/ui), then drop the dev dependencies
# (TypeScript, Vite, linters, test tools), the sources, the native addon's sources and
# onnxruntime-node's binaries for other systems (about 220 MB of its 290 MB).
RUN npm run build \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf src ui node_modules/better-sqlite3/deps node_modules/better-sqlite3/src \
      node_modules/better-sqlite3/build/Release/obj node_modules/better-sqlite3/build/Release/obj.target \
 && node -e "const fs=require('fs'),d='node_modules/onnxruntime-node/bin/napi-v6';if(fs.existsSync(d))for(const os of fs.readdirSync(d))for(const a of fs.readdirSync(d+'/'+os))if(os!==process.platform||a!==process.arch)fs.rmSync(d+'/'+os+'/'+a,{recursive:true})"
# Bake a model in, so that `podman run -p 8000:8000 ferry:0.1.0` answers /predict at once: the
# built-in classifier trained on the sample dataset shipped in data/ (rough, but real), registered
# as tagifai@production in an embedded registry under /app/.ferry. A deployment with
# FERRY_DB=postgres://… ignores it and serves what that registry's alias points at.
# --no-tune: the default hyperparameters, no cross-validation (the sample is too small for tuning
# to mean much, and it saves most of the step's time); --promote: the first version of an empty
# registry passes the gate.
# The commit recorded with the baked version: `--build-arg FERRY_GIT_COMMIT=$(git rev-parse HEAD)`
# (there is no .git in the build context).
ARG FERRY_GIT_COMMIT=
RUN FERRY_HOME=/app/.ferry FERRY_LOG_FORMAT=json node dist/cli/index.js train \
      --dataset-loc /app/data/sample-dataset.csv --name tagifai --alias production \
      --promote --no-tune \
 && mkdir -p /var/lib/ferry

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    FERRY_HOME=/app/.ferry \
    FERRY_HOST=0.0.0.0 \
    PORT=8000 \
    FERRY_MODELS=tagifai \
    FERRY_ALIASES=production \
    FERRY_SHUTDOWN_TIMEOUT_MS=15000 \
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
# Numeric, not `node`: Kubernetes' runAsNonRoot can only verify a numeric user.
USER 1000:1000
EXPOSE 8000
# `ferry serve` drains on SIGTERM: it stops accepting connections, answers the requests in flight,
# flushes the prediction log and exits 0 (1 after FERRY_SHUTDOWN_TIMEOUT_MS). Node runs as PID 1
# without tini on purpose: the kernel drops signals to PID 1 only when it has no handler, and the
# server installs its own for SIGTERM and SIGINT; it starts no processes it does not wait for
# itself (FERRY_WORKERS > 1 forks cluster workers, which the primary reaps), so there are no
# zombies for an init to collect. `docker run --init` adds tini if you add processes that need one.
# Give the runtime a stop timeout above the drain time: `podman run --stop-timeout 20`,
# `docker stop -t 20`, compose's stop_grace_period, Kubernetes' terminationGracePeriodSeconds.
STOPSIGNAL SIGTERM
# Ready, not merely live: /v2/health/ready is 503 until the model is loaded and warm.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/v2/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/index.js"]
CMD ["serve"]
