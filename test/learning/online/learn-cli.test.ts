import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteEventLog } from '../../../src/adapters/sqlite/sqlite-event-log.js';
import { publishLabeledEvents } from '../../../src/learning/online/labeled-event.js';
import { errorCode, runCli } from '../../helpers/cli.js';
import { SOURCE_NODE_ARGS } from '../../helpers/source-node-args.js';
import { makeTmpDir } from '../../helpers/tmp-dir.js';
import { toyExamples } from './toy.js';

const ENTRY = resolve(import.meta.dirname, '../../../src/cli/index.ts');
let dir: { path: string; remove(): Promise<void> } | undefined;
afterEach(async () => {
  await dir?.remove();
  dir = undefined;
});

describe('ferry learn', () => {
  it('learns until SIGTERM, checkpoints, exits 0; `learn status` reads the checkpoint', async () => {
    dir = await makeTmpDir('ferry-learn-cli-');
    const env = { ...process.env, FERRY_HOME: dir.path, FERRY_LOG_FORMAT: 'json', FORCE_COLOR: '0' };
    const log = new SqliteEventLog({ path: join(dir.path, 'streams.db') });
    await log.init();
    await publishLabeledEvents(
      log,
      'feedback',
      toyExamples(0, 120).map((e, i) => ({
        id: `l-${i}`,
        event: {
          model: 'toy',
          title: e.title,
          description: e.description,
          label: e.label,
          at: '2026-12-01T00:00:00Z',
        },
      })),
    );
    await log.close();
    const child = spawn(
      process.execPath,
      [...SOURCE_NODE_ARGS, ENTRY, 'learn', '--model', 'toy', '--window', '20', '--snapshot-every', '100'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.on('close', r));
    const end = Date.now() + 60_000;
    while (!out.includes('online learner promote') && Date.now() < end)
      await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; learned?: number });
    expect(lines.map((l) => l.msg)).toEqual([
      'online learner started',
      'online learner promote',
      'stopping the online learner (checkpoint first)',
      'online learner stopped',
    ]);
    expect(lines.at(-1)?.learned).toBe(120);
    const status = await runCli(['learn', 'status', '--model', 'toy', '--json'], { FERRY_HOME: dir.path });
    expect(status.code).toBe(0);
    const body = JSON.parse(status.stdout) as {
      status: { learned: number; classes: string[] };
      aliases: Record<string, number>;
      decisions: Array<{ action: string }>;
    };
    expect(body.status.learned).toBe(120);
    expect(body.status.classes).toEqual(['cats', 'cars']);
    expect(body.aliases).toEqual({ production: 1 });
    expect(body.decisions.map((d) => d.action)).toEqual(['promote']);
    const missing = await runCli(['learn', '--window', '5'], { FERRY_HOME: dir.path });
    expect(errorCode(missing)).toBe('FERRY_CLI_USAGE');
    const bad = await runCli(['learn', '--model', 'toy', '--margin', '2'], { FERRY_HOME: dir.path });
    expect(errorCode(bad)).toBe('FERRY_CLI_USAGE');
  });
});
