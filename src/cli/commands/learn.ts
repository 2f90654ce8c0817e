import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { learnerStatus, openLearner } from '../../app/open-learner.js';
import { loadConfig } from '../../core/config.js';
import { ErrorCode, FerryError } from '../../core/errors.js';
import type { FeedbackBridge } from '../../learning/online/feedback-bridge.js';
import { fmt, printJson, usageError } from '../output.js';
import { processLogger } from '../process-logger.js';
import { parseIntOption } from './options.js';

function parseFraction(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1)
    throw new InvalidArgumentError(`expected a number from 0 to 1, got "${value}"`);
  return n;
}

interface LearnFlags {
  model: string;
  stream: string;
  snapshotEvery: number;
  snapshotEveryMs: number;
  window: number;
  minLabels?: number;
  margin: number;
  checkpointEvery: number;
  ackWait: number;
  fromFeedback: boolean;
}

/** Polls the feedback table into the learner's stream every BRIDGE_POLL_MS until `signal` aborts. */
const BRIDGE_POLL_MS = 5000;

async function bridgeFeedback(
  bridge: FeedbackBridge,
  signal: AbortSignal,
  log: ReturnType<typeof processLogger>,
): Promise<void> {
  while (!signal.aborted) {
    try {
      const round = await bridge.poll();
      if (round.published > 0 || round.skipped > 0)
        log.info(round, 'feedback labels published to the learner stream');
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'publishing feedback labels failed; retrying');
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, BRIDGE_POLL_MS);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export function registerLearnCommand(program: Command): void {
  const learn = program
    .command('learn')
    .description(
      'learn a model online from a stream of labeled events until SIGINT/SIGTERM (then checkpoint and exit); snapshots become versions, the guardrails move production',
    )
    // Not `requiredOption`: commander would then ask for it before `learn status` too.
    .option('--model <name>', 'the registry model the snapshots are versions of (required)')
    .option('--stream <name>', 'the stream of labeled events', 'feedback')
    .option('--snapshot-every <labels>', 'register a snapshot every this many labels', parseIntOption, 1000)
    .option('--snapshot-every-ms <ms>', '... or this long after the last one (0: off)', parseIntOption, 0)
    .option(
      '--window <labels>',
      'labels in the progressive window the guardrails compare on',
      parseIntOption,
      500,
    )
    .option(
      '--min-labels <labels>',
      'shared labels a guardrail needs before deciding (default: the window)',
      parseIntOption,
    )
    .option(
      '--margin <f1>',
      'weighted F1 a snapshot must gain over production to replace it',
      parseFraction,
      0.01,
    )
    .option('--checkpoint-every <labels>', 'commit (then ack) every this many labels', parseIntOption, 1000)
    .option(
      '--ack-wait <ms>',
      'redeliver a label not acked within this (after a crash: how soon)',
      parseIntOption,
      30_000,
    )
    .option(
      '--from-feedback',
      'also publish the labels stored by POST /v1/feedback and `ferry feedback import` to the stream (joined to the logged text), every 5 s',
      false,
    )
    .action(async (flags: Partial<LearnFlags> & Omit<LearnFlags, 'model'>) => {
      if (flags.model === undefined) throw usageError("required option '--model <name>' not specified");
      const log = processLogger();
      const ctx = await openLearner(
        loadConfig(),
        {
          model: flags.model,
          stream: flags.stream,
          snapshotEvery: flags.snapshotEvery,
          snapshotEveryMs: flags.snapshotEveryMs,
          window: flags.window,
          ...(flags.minLabels === undefined ? {} : { minLabels: flags.minLabels }),
          margin: flags.margin,
          checkpointEvery: flags.checkpointEvery,
          ackWaitMs: flags.ackWait,
        },
        (message, fields) => log.info(fields, message),
        process.env,
        { fromFeedback: flags.fromFeedback === true },
      );
      const controller = new AbortController();
      const stop = (signal: string) => {
        log.info({ signal, model: flags.model }, 'stopping the online learner (checkpoint first)');
        controller.abort();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      log.info(ctx.learner.status(), 'online learner started');
      const bridging = ctx.bridge ? bridgeFeedback(ctx.bridge, controller.signal, log) : undefined;
      try {
        await ctx.learner.run(controller.signal, (e, delayMs) =>
          log.warn(
            { err: (e as Error).message, retryInMs: delayMs },
            'stream transport unavailable; retrying',
          ),
        );
        log.info(ctx.learner.status(), 'online learner stopped');
      } finally {
        controller.abort();
        await bridging;
        await ctx.close();
      }
    });

  learn
    .command('status')
    .description(
      "the online learner's progress: labels learned, progressive figures, snapshots, guardrail decisions",
    )
    .option('--model <name>', 'the model (required)')
    .option('--json', 'JSON output', false)
    .action(async (_: unknown, cmd: Command) => {
      // `--model` given after `status` is parsed by `learn` (its option too): read both levels.
      const flags = cmd.optsWithGlobals<{ model?: string; json: boolean }>();
      if (flags.model === undefined) throw usageError("required option '--model <name>' not specified");
      const status = await learnerStatus(loadConfig(), flags.model);
      if (status === undefined) {
        throw new FerryError(
          ErrorCode.REGISTRY_NOT_FOUND,
          `no online learner has checkpointed model "${flags.model}"`,
        );
      }
      if (flags.json) {
        printJson(status);
        return;
      }
      const s = status.status;
      console.log(`model ${s.model} (stream ${s.stream}), checkpoint ${status.updatedAt}`);
      console.log(
        `labels learned ${s.learned}, duplicates skipped ${s.duplicates}, invalid ${s.invalid}, other models ${s.otherModels}`,
      );
      console.log(`classes ${s.classes.join(', ')}`);
      console.log(
        `progressive (last ${s.progressive.labels}): accuracy ${fmt(s.progressive.accuracy)}, weighted F1 ${fmt(s.progressive.weightedF1)}`,
      );
      console.log(
        `last snapshot ${s.lastSnapshotVersion ?? 'none'}; aliases ${
          Object.entries(status.aliases)
            .map(([a, v]) => `${a}=${v}`)
            .join(', ') || 'none'
        }`,
      );
      for (const d of status.decisions) {
        console.log(`${d.at} ${d.action} ${d.version ?? ''}: ${String(d.detail.reason ?? '')}`);
      }
    });
}
