import type { DeployParams, DeployTargetSpec, RenderedFile } from '../deploy-types.js';

/**
 * The `github-actions` target: CI of every change (ci.yml), the release of main the Made With ML way
 * (deploy.yml: test → candidate behind a gate → image → rollout → canary → promote or roll back) and
 * scheduled retraining (retrain.yml). Pipeline, gates and secrets: docs/deployment/ci-cd.md.
 *
 * The registry's artifacts live on a file system (FERRY_ARTIFACTS) that the servers read, so every
 * job that registers a version or moves an alias runs on a self-hosted runner that mounts it and
 * reaches the database; building the image and talking to the cluster run on GitHub's runners.
 */

/**
 * Actions pinned to a commit (a tag can be moved; a commit cannot), with the release it is as a
 * comment for people and Dependabot. Read from each action's repository at that tag.
 */
export const ACTION_PINS = {
  checkout: { uses: 'actions/checkout', sha: '3d3c42e5aac5ba805825da76410c181273ba90b1', tag: 'v7.0.1' },
  setupNode: { uses: 'actions/setup-node', sha: '820762786026740c76f36085b0efc47a31fe5020', tag: 'v7.0.0' },
  uploadArtifact: {
    uses: 'actions/upload-artifact',
    sha: 'bbbca2ddaa5d8feaa63e36b76fdaad77386f024f',
    tag: 'v7.0.0',
  },
  setupBuildx: {
    uses: 'docker/setup-buildx-action',
    sha: '37fe631027851001ddb9b187196cc803df7f5f0e',
    tag: 'v4.3.0',
  },
  login: { uses: 'docker/login-action', sha: '4907a6ddec9925e35a0a9e82d7399ccc52663121', tag: 'v4.1.0' },
  buildPush: {
    uses: 'docker/build-push-action',
    sha: '53b7df96c91f9c12dcc8a07bcb9ccacbed38856a',
    tag: 'v7.3.0',
  },
} as const;

type Pin = keyof typeof ACTION_PINS;

function uses(pin: Pin): string {
  const p = ACTION_PINS[pin];
  return `uses: ${p.uses}@${p.sha} # ${p.tag}`;
}

/** Indents every non-empty line of a block by `n` spaces. */
function indent(text: string, n: number): string {
  const pad = ' '.repeat(n);
  return text
    .split('\n')
    .map((l) => (l === '' ? l : pad + l))
    .join('\n');
}

/** The runner of registry jobs: see the module comment and docs/deployment/ci-cd.md. */
const REGISTRY_RUNNER = '[self-hosted, linux, x64]';

const CHECKOUT = `- ${uses('checkout')}
  with:
    persist-credentials: false`;

const NODE = `- ${uses('setupNode')}
  with:
    node-version: 20
    cache: npm`;

/** Steps that give a registry job the `ferry` CLI of this commit, and refuse a runner without the shared store. */
const FERRY_SETUP = `${CHECKOUT}
${NODE}
- name: Install and build Ferry (npx ferry is this commit's CLI)
  run: |
    npm ci --no-audit --no-fund
    npm run build
- name: The runner has the servers' artifact store
  run: |
    # A version registered with its artifact in this throwaway workspace would be in the database
    # but unloadable by every server: refuse to run without the shared store.
    if [ -z "\${FERRY_ARTIFACTS:-}" ] || [ ! -d "$FERRY_ARTIFACTS" ]; then
      echo "::error::FERRY_ARTIFACTS must name the servers' shared artifact directory on this runner (docs/deployment/ci-cd.md)"
      exit 1
    fi`;

/** Prints a retraining result (retrain.json) into the job summary; runs after a refusal too. */
const RETRAIN_SUMMARY = `- name: Summary of the gate
  if: always()
  run: |
    if [ -s retrain.json ]; then
      jq -r 'def f1: if . == null then "-" else (. * 10000 | round / 10000 | tostring) end;
        "### retrain \\(.model): \\(.status)\\n\\n| model | weighted F1 |\\n|---|---|\\n"
        + "| candidate \\(.model)/\\(.candidate.version) | \\(.candidate.evaluation.overall.f1 | f1) |\\n"
        + "| production \\(if .production then "\\(.model)/\\(.production.version)" else "(none)" end) | \\(.production.evaluation.overall.f1 | f1) |\\n\\n"
        + (.decision.reasons | map("- " + .) | join("\\n"))' retrain.json >> "$GITHUB_STEP_SUMMARY"
    fi
- name: Keep the gate's report
  if: always()
  ${uses('uploadArtifact')}
  with:
    name: retrain-\${{ github.run_id }}-\${{ github.run_attempt }}
    path: retrain.json
    if-no-files-found: ignore`;

function header(p: DeployParams, what: string): string {
  return `# ${what}
# Rendered by \`ferry deploy render github-actions\` (Ferry ${p.ferryVersion}); docs/deployment/ci-cd.md.
# Nothing here has run on GitHub from where it was rendered: it was checked with actionlint.`;
}

function ci(p: DeployParams): string {
  return `${header(p, 'CI: lint, types, build and every test, against real PostgreSQL, Redis and NATS JetStream.')}
name: ci

on:
  pull_request:
  push:
    # main is tested by deploy.yml, which calls this workflow as its first job.
    branches-ignore:
      - main
  workflow_call:

permissions:
  contents: read

# GitHub's bash with -e and pipefail: a failing command in a pipe fails the step.
defaults:
  run:
    shell: bash

concurrency:
  group: ci-\${{ github.event_name }}-\${{ github.ref }}
  # A new push to a pull request makes its older run moot; pushes are never cancelled.
  cancel-in-progress: \${{ github.event_name == 'pull_request' }}

jobs:
  test:
    name: npm test
    runs-on: ubuntu-latest
    timeout-minutes: 45
    services:
      postgres:
        image: postgres:16
        env:
          POSTGRES_HOST_AUTH_METHOD: trust
          POSTGRES_DB: test
        ports:
          - 5432:5432
        options: >-
          --health-cmd "pg_isready -U postgres"
          --health-interval 5s
          --health-timeout 5s
          --health-retries 20
      redis:
        image: redis:7
        ports:
          - 6379:6379
        options: >-
          --health-cmd "redis-cli ping"
          --health-interval 5s
          --health-timeout 5s
          --health-retries 20
    env:
      # Tools a test needs fail the test under CI instead of skipping it.
      CI: 'true'
      FERRY_TEST_PG_URL: postgres://postgres@127.0.0.1:5432/test
      FERRY_TEST_REDIS_URL: redis://127.0.0.1:6379
      FERRY_TEST_NATS_URL: nats://127.0.0.1:4222
      FERRY_TEST_NATS_SERVER: /usr/local/bin/nats-server
    steps:
${indent(CHECKOUT, 6)}
${indent(NODE, 6)}
      # JetStream needs \`nats-server -js\`, and a service container cannot be given arguments
      # (actions/runner#1152, #2276), so NATS starts here. Tests that kill a NATS of their own need
      # the binary too: the image's (a static Go binary) is copied out.
      - name: Start NATS with JetStream
        run: |
          docker run -d --name nats -p 4222:4222 nats:2.10 -js
          docker cp nats:/nats-server "$RUNNER_TEMP/nats-server"
          sudo install -m 0755 "$RUNNER_TEMP/nats-server" /usr/local/bin/nats-server
          for _ in $(seq 1 30); do
            if (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then exit 0; fi
            sleep 1
          done
          docker logs nats
          exit 1
      # Tests that stop Redis start their own redis-server on a free port.
      - name: Install redis-server (the binary only)
        run: |
          # policy-rc.d refuses to start services: no second Redis on the service's port 6379.
          printf '#!/bin/sh\\nexit 101\\n' | sudo tee /usr/sbin/policy-rc.d > /dev/null
          sudo chmod 0755 /usr/sbin/policy-rc.d
          sudo apt-get update -q
          sudo apt-get install -y -q --no-install-recommends redis-server
          sudo rm -f /usr/sbin/policy-rc.d
      - run: npm ci --no-audit --no-fund
      # lint, unused code, types, import cycles, build, every test (package.json "test")
      - run: npm test
`;
}

function deploy(p: DeployParams): string {
  const imageName = p.image.replace(/[@:].*$/, '');
  return `${header(
    p,
    `Release of main, the Made With ML way: test, train a candidate and gate it against production on the same rows, build and push the image, roll it out, run the candidate as a canary, then promote or roll back.`,
  )}
name: deploy

on:
  push:
    branches:
      - main

# Nothing by default; each job asks for what it uses.
permissions: {}

# GitHub's bash with -e and pipefail: a failing command in a pipe fails the step.
defaults:
  run:
    shell: bash

# One release at a time, in order; a release is never cancelled halfway.
concurrency:
  group: deploy-${p.appName}
  cancel-in-progress: false

env:
  MODEL: ${p.model.name}
  # The overlay the image is rolled out with (deploy/kubernetes; argo-canary for an Argo Rollouts canary).
  KUSTOMIZE_OVERLAY: deploy/kubernetes/overlays/prod
  NAMESPACE: ${p.namespace}
  DEPLOYMENT: ${p.appName}
  # The image name the manifests use, replaced by the pushed image.
  IMAGE_NAME_IN_MANIFESTS: ${imageName}

jobs:
  test:
    uses: ./.github/workflows/ci.yml
    permissions:
      contents: read

  candidate:
    name: candidate (train, evaluate against production, gate, staging)
    needs: test
    runs-on: ${REGISTRY_RUNNER}
    environment: staging
    timeout-minutes: 60
    permissions:
      contents: read
    outputs:
      version: \${{ steps.gate.outputs.version }}
    env:
      FERRY_DB: \${{ secrets.FERRY_DB }}
      DATASET_LOC: \${{ secrets.DATASET_LOC }}
    steps:
${indent(FERRY_SETUP, 6)}
      - name: Gate (exits 3 when the candidate loses to production)
        id: gate
        run: |
          # One command, four steps: train a candidate on the dataset plus labeled feedback and
          # register it (not promoted); score it and production on the same held-out rows; gate
          # (minimum weighted F1, no class worse than production's by more than the margin,
          # behavioural tests, enough rows: FERRY_RETRAIN_*); on a pass, point staging at it.
          # A refusal is FERRY_RETRAIN_REFUSED, exit 3: this job fails and nothing below runs.
          npx ferry retrain --model "$MODEL" --policy staging --json > retrain.json
          echo "version=$(jq -r '.candidate.version' retrain.json)" >> "$GITHUB_OUTPUT"
${indent(RETRAIN_SUMMARY, 6)}

  image:
    name: image (build, push to ghcr.io)
    needs: candidate
    runs-on: ubuntu-latest
    timeout-minutes: 30
    permissions:
      contents: read
      packages: write
    outputs:
      image: \${{ steps.ref.outputs.name }}@\${{ steps.build.outputs.digest }}
    steps:
${indent(CHECKOUT, 6)}
      - name: Image name (ghcr.io wants lower case)
        id: ref
        run: echo "name=ghcr.io/\${GITHUB_REPOSITORY,,}" >> "$GITHUB_OUTPUT"
      - ${uses('setupBuildx')}
      - ${uses('login')}
        with:
          registry: ghcr.io
          username: \${{ github.actor }}
          password: \${{ secrets.GITHUB_TOKEN }}
      - id: build
        ${uses('buildPush')}
        with:
          context: .
          push: true
          tags: \${{ steps.ref.outputs.name }}:\${{ github.sha }}
          labels: org.opencontainers.image.revision=\${{ github.sha }}

  rollout:
    name: rollout (the image, by digest)
    needs: [candidate, image]
    runs-on: ubuntu-latest
    # Required reviewers on this environment: a person approves before production changes.
    environment: production
    timeout-minutes: 20
    permissions:
      contents: read
    steps:
${indent(CHECKOUT, 6)}
      - name: Cluster credentials
        env:
          KUBE_CONFIG: \${{ secrets.KUBE_CONFIG }}
        run: |
          umask 077
          printf '%s' "$KUBE_CONFIG" > "$RUNNER_TEMP/kubeconfig"
          echo "KUBECONFIG=$RUNNER_TEMP/kubeconfig" >> "$GITHUB_ENV"
      - name: Apply the overlay with the new image, wait for the rollout
        env:
          IMAGE: \${{ needs.image.outputs.image }}
        run: |
          (cd "$KUSTOMIZE_OVERLAY" && kustomize edit set image "$IMAGE_NAME_IN_MANIFESTS=$IMAGE")
          kubectl apply -k "$KUSTOMIZE_OVERLAY"
          kubectl -n "$NAMESPACE" rollout status "deployment/$DEPLOYMENT" --timeout=10m

  canary:
    name: canary (the candidate model on live traffic)
    needs: [candidate, rollout]
    runs-on: ${REGISTRY_RUNNER}
    environment: production
    timeout-minutes: 180
    permissions:
      contents: read
    env:
      FERRY_DB: \${{ secrets.FERRY_DB }}
      CANDIDATE: \${{ needs.candidate.outputs.version }}
      EXPERIMENT: ${p.model.name}-deploy-\${{ github.run_id }}-\${{ github.run_attempt }}
    steps:
${indent(FERRY_SETUP, 6)}
      - name: Start the canary
        id: start
        run: |
          has_production=$(npx ferry models list "$MODEL" --json | jq '[.[] | select(.aliases | index("production"))] | length')
          if [ "$has_production" = 0 ]; then
            # The first release: no production to compare with (the gate checked the minimums).
            npx ferry models alias "$MODEL" production "$CANDIDATE"
            echo "canary=none" >> "$GITHUB_OUTPUT"
            exit 0
          fi
          jq -n --arg name "$EXPERIMENT" --arg model "$MODEL" --argjson version "$CANDIDATE" '{
            name: $name, type: "canary", model: $model,
            description: "deploy.yml: production vs the candidate of this release",
            arms: [{name: "production", alias: "production"}, {name: "canary", version: $version}],
            canary: {steps: [0.05, 0.25, 0.5, 1], minRequestsPerStep: 100, minStepDurationMs: 60000}
          }' > canary.json
          npx ferry experiments create --file canary.json
          echo "canary=$EXPERIMENT" >> "$GITHUB_OUTPUT"
      - name: Wait for the canary's decision (promoted, or rolled back)
        if: steps.start.outputs.canary != 'none'
        run: |
          # The serving replicas' controller moves the canary's share 5% → 25% → 50% → 100% while
          # errors, p99 latency and the predicted labels stay within its thresholds, then moves
          # production to the candidate ("promoted"); a threshold crossed sends the traffic back
          # ("rolled_back"). This step only watches.
          while :; do
            npx ferry experiments show "$EXPERIMENT" --json > analysis.json
            status=$(jq -r '.experiment.status' analysis.json)
            if [ "$status" = concluded ] || [ "$status" = stopped ]; then break; fi
            sleep 30
          done
          outcome=$(jq -r '.experiment.conclusion.outcome // "none"' analysis.json)
          echo "canary $EXPERIMENT: $outcome" >> "$GITHUB_STEP_SUMMARY"
          test "$outcome" = promoted
      - name: Production is the candidate
        run: |
          production=$(npx ferry models show "$MODEL@production" --json | jq '.version')
          echo "production: $MODEL/$production" >> "$GITHUB_STEP_SUMMARY"
          test "$production" = "$CANDIDATE"

  rollback-model:
    name: roll back the model
    needs: [candidate, rollout, canary]
    if: failure() && needs.candidate.result == 'success' && needs.canary.result != 'skipped'
    runs-on: ${REGISTRY_RUNNER}
    environment: production
    timeout-minutes: 15
    permissions:
      contents: read
    env:
      FERRY_DB: \${{ secrets.FERRY_DB }}
      CANDIDATE: \${{ needs.candidate.outputs.version }}
      EXPERIMENT: ${p.model.name}-deploy-\${{ github.run_id }}-\${{ github.run_attempt }}
    steps:
${indent(FERRY_SETUP, 6)}
      - name: Abort the canary, move production back if it moved
        run: |
          status=$(npx ferry experiments show "$EXPERIMENT" --json | jq -r '.experiment.status') || status=none
          if [ "$status" = running ] || [ "$status" = paused ]; then
            npx ferry experiments abort "$EXPERIMENT" --reason "deploy run $GITHUB_RUN_ID failed"
          fi
          production=$(npx ferry models show "$MODEL@production" --json | jq '.version') || production=none
          if [ "$production" = "$CANDIDATE" ]; then
            # To the version production pointed at before (the registry's alias history).
            npx ferry models rollback "$MODEL" --alias production
          fi

  rollback-image:
    name: roll back the image
    needs: [image, rollout, canary]
    if: failure() && needs.image.result == 'success'
    runs-on: ubuntu-latest
    environment: production
    timeout-minutes: 15
    permissions:
      contents: read
    steps:
      - name: Cluster credentials
        env:
          KUBE_CONFIG: \${{ secrets.KUBE_CONFIG }}
        run: |
          umask 077
          printf '%s' "$KUBE_CONFIG" > "$RUNNER_TEMP/kubeconfig"
          echo "KUBECONFIG=$RUNNER_TEMP/kubeconfig" >> "$GITHUB_ENV"
      - name: Undo the rollout if it is this release's image
        env:
          IMAGE: \${{ needs.image.outputs.image }}
        run: |
          # Only this release's image is undone: an undo after a failure before the apply would
          # roll back the previous, healthy release instead.
          images=$(kubectl -n "$NAMESPACE" get "deployment/$DEPLOYMENT" -o jsonpath='{.spec.template.spec.containers[*].image}')
          case " $images " in
            *" $IMAGE "*)
              kubectl -n "$NAMESPACE" rollout undo "deployment/$DEPLOYMENT"
              kubectl -n "$NAMESPACE" rollout status "deployment/$DEPLOYMENT" --timeout=10m
              ;;
            *) echo "the deployment runs $images, not $IMAGE: nothing to undo" ;;
          esac
`;
}

function retrain(p: DeployParams): string {
  return `${header(
    p,
    `Scheduled retraining of ${p.model.name} behind its gate; exits 3 (the run fails) when the gate refuses the candidate.`,
  )}
name: retrain

on:
  schedule:
    # Mondays 03:00 UTC, like \`ferry retrain --watch --schedule "0 3 * * 1"\`.
    - cron: '0 3 * * 1'
  workflow_dispatch:
    inputs:
      policy:
        description: 'What a candidate that passes becomes: staging, a canary against production, or production'
        type: choice
        options:
          - staging
          - canary
          - promote
        default: staging

permissions: {}

# GitHub's bash with -e and pipefail: a failing command in a pipe fails the step.
defaults:
  run:
    shell: bash

# ferry retrain also holds a lease in the database (exit 4 when another run has it).
concurrency:
  group: retrain-${p.model.name}
  cancel-in-progress: false

jobs:
  retrain:
    name: retrain (gate against production on the same rows)
    runs-on: ${REGISTRY_RUNNER}
    # A policy that can move production waits for the production environment's reviewers.
    environment: \${{ (inputs.policy == 'promote' || inputs.policy == 'canary') && 'production' || 'staging' }}
    timeout-minutes: 90
    permissions:
      contents: read
    env:
      FERRY_DB: \${{ secrets.FERRY_DB }}
      DATASET_LOC: \${{ secrets.DATASET_LOC }}
      MODEL: ${p.model.name}
      # Scheduled runs have no inputs: staging. Passed through the environment, never pasted into the script.
      POLICY: \${{ inputs.policy || 'staging' }}
    steps:
${indent(FERRY_SETUP, 6)}
      - name: Retrain (exits 3 when the gate refuses)
        id: gate
        run: npx ferry retrain --model "$MODEL" --policy "$POLICY" --json > retrain.json
${indent(RETRAIN_SUMMARY, 6)}
`;
}

function renderGithubActions(p: DeployParams): RenderedFile[] {
  return [
    { path: 'ci.yml', content: ci(p) },
    { path: 'deploy.yml', content: deploy(p) },
    { path: 'retrain.yml', content: retrain(p) },
  ];
}

export const GITHUB_ACTIONS_TARGET: DeployTargetSpec = {
  target: 'github-actions',
  description:
    'GitHub Actions: CI with PostgreSQL, Redis and NATS; a gated release (candidate, image, canary, rollback); scheduled retraining',
  defaultOut: '.github/workflows',
  committedOut: '.github/workflows',
  render: renderGithubActions,
};
