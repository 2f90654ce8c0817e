/**
 * `ferry stream publish | run | status | dead-letters` as a user runs them, in child processes, on
 * the embedded log of a project directory of the test's own.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFerry, spawnFerry } from '../features/cli.js';
import { tmpDir } from '../helpers/tmp-dir.js';
import { clicks, clicksRepo, waitFor } from './helpers.js';

const dir = tmpDir('ferry-stream-cli-');
afterAll(() => dir.remove());
const env = {
  FERRY_HOME: join(dir.path, '.ferry'),
  FERRY_DB: undefined,
  FERRY_ONLINE_STORE: undefined,
  FERRY_STREAM_URL: undefined,
  FERRY_FEATURES_FILE: undefined,
  FERRY_LOG_FORMAT: 'json',
};
const ferry = (args: string[]) => runFerry(args, env, dir.path);

describe('ferry stream', () => {
  it('publishes, runs a pipeline, shows status and dead letters', async () => {
    writeFileSync(join(dir.path, 'package.json'), '{}');
    writeFileSync(join(dir.path, 'features.json'), JSON.stringify(clicksRepo('clicks'), null, 2));
    const events = clicks(500, { users: 10 });
    writeFileSync(join(dir.path, 'events.jsonl'), `${events.map((e) => JSON.stringify(e)).join('\n')}\n\n`);

    // The key and time fields come from the feature repository.
    let r = await ferry(['stream', 'publish', 'clicks', '--file', 'events.jsonl', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ stream: 'clicks', published: 500, duplicates: 0 });
    r = await ferry(['stream', 'publish', 'clicks', '--file', 'events.jsonl']);
    expect(r.stdout).toContain('published 0 event(s) to clicks (500 duplicate(s) not stored again)');
    // The producer refuses an event without its time (the repository names the field).
    r = await ferry(['stream', 'publish', 'clicks', '--data', '{"id":"x","user_id":"u1","at":"soon"}']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('FERRY_STREAM_EVENT_INVALID');
    // With --key-field alone nothing checks the time: the pipeline dead-letters it.
    r = await ferry([
      'stream',
      'publish',
      'clicks',
      '--key-field',
      'user_id',
      '--data',
      '[{"id":"bad-1","user_id":"u1","at":"soon"}]',
    ]);
    expect(r.code, r.stderr).toBe(0);

    r = await ferry(['stream', 'run', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FERRY_STREAM_NOT_FOUND: no pipeline "nope"; the feature repository has clicks/);
    r = await ferry(['stream', 'run', 'clicks', '--instance', '1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--instance and --of go together');

    const run = spawnFerry(['stream', 'run', 'clicks', '--batch-size', '100'], env, dir.path);
    try {
      await waitFor(
        async () => {
          const s = await ferry(['stream', 'status', 'clicks', '--json']);
          if (s.code !== 0) return false;
          const status = JSON.parse(s.stdout) as {
            stream: { consumers: Array<{ name: string; pending: number }> };
            pipelines: Array<{ partitions: Array<{ processed: number; deadLettered: number }> }>;
          };
          const parts = status.pipelines[0]?.partitions ?? [];
          const processed = parts.reduce((a, p) => a + p.processed, 0);
          const dead = parts.reduce((a, p) => a + p.deadLettered, 0);
          return processed === 500 && dead === 1 && status.stream.consumers[0]?.pending === 0;
        },
        'the pipeline to catch up',
        60_000,
      );
      r = await ferry(['stream', 'status', 'clicks']);
      expect(r.stdout).toMatch(/stream clicks: 4 partitions, 501 events .* 1 dead letters/);
      expect(r.stdout).toMatch(/consumer clicks: lag 0, in flight 0/);
      expect(r.stdout).toMatch(/pipeline clicks:\n {2}partition \d: newest event /);
      r = await ferry(['stream', 'dead-letters', 'clicks', '--json']);
      const dead = JSON.parse(r.stdout) as Array<{ id: string; reason: string; data: string }>;
      expect(dead).toEqual([
        expect.objectContaining({
          id: 'bad-1',
          reason: 'bad event time "soon": not ISO 8601 or milliseconds since the epoch',
        }),
      ]);
      r = await ferry(['stream', 'dead-letters', 'clicks']);
      expect(r.stdout).toContain('reason: bad event time "soon"');
    } finally {
      run.kill('SIGTERM');
    }
    const exit = await run.exited;
    expect(exit.code, run.output().stderr).toBe(0);
    expect(run.output().stdout).toMatch(/"msg":"pipeline stopped"/);
    r = await ferry(['stream', 'status', 'clicks']);
    expect(r.stdout).toMatch(/instance .* \(stopped\)/);
  });
});
