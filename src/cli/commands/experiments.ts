import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { openFerry } from '../../app/open-ferry.js';
import { loadConfig } from '../../core/config.js';
import { ErrorCode, FerryError } from '../../core/errors.js';
import type { ExperimentAnalysis } from '../../experiments/experiment-analysis.js';
import { ExperimentService } from '../../experiments/experiment-service.js';
import { ExperimentStatsStore } from '../../experiments/experiment-stats-store.js';
import { ExperimentStore } from '../../experiments/experiment-store.js';
import {
  EXPERIMENT_STATUSES,
  type Experiment,
  type ExperimentStatus,
} from '../../experiments/experiment-types.js';
import { fmt, printJson, usageError } from '../output.js';

/** Talks to the SQL store directly (no server needed); running servers pick changes up on their next poll. */
async function withExperiments<T>(fn: (service: ExperimentService) => Promise<T>): Promise<T> {
  const ctx = await openFerry(loadConfig());
  try {
    const store = new ExperimentStore({ sql: ctx.sql });
    await store.init();
    const stats = new ExperimentStatsStore({ sql: ctx.sql });
    await stats.init();
    return await fn(new ExperimentService({ store, registry: ctx.registry, stats }));
  } finally {
    await ctx.close();
  }
}

/** The OS user, recorded as who excluded events from the CLI ("unknown" when the OS cannot say). */
function osUser(): string {
  try {
    return userInfo().username || 'unknown';
  } catch {
    return 'unknown';
  }
}

function armsText(e: Experiment): string {
  return e.arms
    .map(
      (a, i) =>
        `${a.name}=${a.version !== undefined ? `v${a.version}` : `@${a.alias}`}:${fmt(e.weights[i], 3)}`,
    )
    .join(' ');
}

function line(e: Experiment): string {
  return `${e.name.padEnd(24)} ${e.type.padEnd(7)} ${e.model.padEnd(12)} ${e.status.padEnd(10)} ${armsText(e)}`;
}

function pct(x: number | null | undefined): string {
  return typeof x === 'number' ? `${(x * 100).toFixed(2)}%` : '-';
}

function printAnalysis(a: ExperimentAnalysis): void {
  const e = a.experiment;
  const out: string[] = [line(e)];
  if (e.conclusion) out.push(`concluded ${e.conclusion.at}: winner ${e.conclusion.winner ?? 'none'}`);
  out.push(
    `units ${a.units}; events ${a.totalEvents}; unexposed events ${a.unexposed.events} (${a.unexposed.units} units)`,
  );
  if (a.srm)
    out.push(
      `SRM chi2=${fmt(a.srm.chiSquare)} p=${fmt(a.srm.pValue)}${a.srm.mismatch ? '  ** SAMPLE RATIO MISMATCH **' : ''}`,
    );
  else if (a.srmNote) out.push(`SRM: ${a.srmNote}`);
  for (const arm of a.arms) {
    const metrics = Object.entries(arm.metrics)
      .map(([name, m]) =>
        m.kind === 'binary'
          ? `${name} ${m.conversions}/${m.units} ${pct(m.rate)}`
          : `${name} n=${m.units} mean=${fmt(m.mean)}`,
      )
      .join('  ');
    out.push(
      `  ${arm.name.padEnd(16)} weight ${fmt(arm.weight, 3)} units ${String(arm.units).padEnd(7)} ${metrics}`,
    );
  }
  if (a.excludedEvents > 0) out.push(`excluded events ${a.excludedEvents} (not counted)`);
  for (const c of a.comparisons) {
    if (c.error !== undefined || c.difference === undefined) {
      out.push(`  ${c.arm} vs ${c.control} on ${c.metric}: ${c.error ? 'ERROR ' : ''}${c.reason}`);
      continue;
    }
    if (!c.sufficientData) out.push(`  ${c.arm} vs ${c.control} on ${c.metric}: ${c.reason}`);
    out.push(
      `  ${c.arm} vs ${c.control} on ${c.metric}: diff ${fmt(c.difference)} [${fmt(c.differenceCi?.[0])}, ${fmt(c.differenceCi?.[1])}]` +
        ` lift ${pct(c.relativeLift)} p=${fmt(c.pValue)} holm=${fmt(c.pValueHolm)} bh=${fmt(c.pValueBh)}` +
        ` P(beat)=${fmt(c.chanceToBeatControl)} always-valid p=${fmt(c.alwaysValid?.pValue)}`,
    );
  }
  if (a.bandit) {
    out.push(
      `  bandit ${a.bandit.policy}: P(best) ${Object.entries(a.bandit.probabilityBest)
        .map(([k, v]) => `${k}=${fmt(v, 3)}`)
        .join(' ')}; ${a.bandit.history.length} weight changes`,
    );
  }
  if (a.power)
    out.push(`  power: ${a.power.unitsPerArm} units per arm (${a.power.eligibleUnits} units to send)`);
  if (a.shadow) {
    const r = a.shadow.report;
    const lat = (s: { p50: number | null; p99: number | null }) =>
      `p50 ${fmt(s.p50)} ms, p99 ${fmt(s.p99)} ms`;
    out.push(
      `  shadow (${a.shadow.replicas} replicas): offered ${r.offered}, mirrored ${r.mirrored}, dropped ${r.dropped}, discarded ${r.discarded}`,
      `  agreement ${pct(r.agreement)} over ${r.compared} items; errors production ${r.errors.production}, shadow ${r.errors.shadow}`,
      `  latency production ${lat(r.latency.production)}; shadow ${lat(r.latency.shadow)}`,
    );
    for (const [prod, row] of Object.entries(r.confusion)) {
      out.push(
        `    ${prod} → ${Object.entries(row)
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')}`,
      );
    }
  }
  if (a.canary) {
    const c = a.canary;
    const arm = (s: typeof c.window.canary) =>
      `${s.requests} requests, error rate ${pct(s.errorRate)}, p99 ${fmt(s.latency.p99)} ms`;
    out.push(
      `  canary ${c.status} at step ${c.stepIndex + 1} of ${c.steps.length} (${pct(c.weight)})`,
      `    canary: ${arm(c.window.canary)}; production: ${arm(c.window.production)}`,
      `    now: ${c.assessment.action}: ${c.assessment.reason}`,
    );
    for (const h of c.history) out.push(`    ${h.at} ${h.action} (${pct(h.weight)}): ${h.reason}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

export function registerExperimentsCommand(program: Command): void {
  const cmd = program
    .command('experiments')
    .description('online experiments (A/B tests, bandits, canary, shadow) in the registry database');

  cmd
    .command('create')
    .description('create an experiment from a JSON definition (see POST /v1/experiments)')
    .requiredOption('--file <path>', 'the definition, a JSON file')
    .option('--json', 'JSON output', false)
    .action((flags: { file: string; json: boolean }) =>
      withExperiments(async (service) => {
        let raw: unknown;
        try {
          raw = JSON.parse(await readFile(flags.file, 'utf8'));
        } catch (e) {
          throw new FerryError(
            ErrorCode.EXPERIMENT_INVALID,
            `cannot read ${flags.file}: ${(e as Error).message}`,
            {
              cause: e,
            },
          );
        }
        const created = await service.create(raw);
        if (flags.json) return printJson(created);
        process.stdout.write(`created ${line(created.experiment)}\n`);
        if (created.power) {
          process.stdout.write(
            `power: ${created.power.unitsPerArm} units per arm, ${created.power.eligibleUnits} units to send\n`,
          );
        }
      }),
    );

  cmd
    .command('list')
    .description('list experiments')
    .option('--status <list>', `comma-separated among ${EXPERIMENT_STATUSES.join(', ')}`)
    .option('--model <name>', 'only this model')
    .option('--json', 'JSON output', false)
    .action((flags: { status?: string; model?: string; json: boolean }) =>
      withExperiments(async (service) => {
        const statuses = flags.status?.split(',').map((s) => s.trim());
        for (const s of statuses ?? []) {
          if (!(EXPERIMENT_STATUSES as readonly string[]).includes(s)) {
            throw usageError(`--status must be among ${EXPERIMENT_STATUSES.join(', ')}, got "${s}"`);
          }
        }
        const list = await service.list({
          ...(flags.model !== undefined ? { model: flags.model } : {}),
          ...(statuses !== undefined ? { statuses: statuses as ExperimentStatus[] } : {}),
        });
        if (flags.json) return printJson(list);
        if (list.length === 0) process.stdout.write('no experiments\n');
        for (const e of list) process.stdout.write(`${line(e)}\n`);
      }),
    );

  cmd
    .command('show <id>')
    .description('the definition and analysis of one experiment')
    .option('--json', 'JSON output', false)
    .action((id: string, flags: { json: boolean }) =>
      withExperiments(async (service) => {
        const analysis = await service.analyze(id);
        if (flags.json) return printJson(analysis);
        printAnalysis(analysis);
      }),
    );

  for (const action of ['pause', 'resume', 'stop'] as const) {
    cmd
      .command(`${action} <id>`)
      .description(`${action} an experiment`)
      .option('--json', 'JSON output', false)
      .action((id: string, flags: { json: boolean }) =>
        withExperiments(async (service) => {
          const e = await service.transition(id, action);
          if (flags.json) return printJson(e);
          process.stdout.write(`${line(e)}\n`);
        }),
      );
  }

  for (const action of ['promote', 'abort'] as const) {
    cmd
      .command(`${action} <id>`)
      .description(
        action === 'promote'
          ? "canaries: promote now (moves the model's production alias to the canary version; servers follow at their next alias poll)"
          : "canaries: abort (the canary's traffic goes back to production)",
      )
      .option('--reason <text>', 'why')
      .option('--json', 'JSON output', false)
      .action((id: string, flags: { reason?: string; json: boolean }) =>
        withExperiments(async (service) => {
          const e = await service.canaryAction(id, action, flags.reason);
          if (flags.json) return printJson(e);
          process.stdout.write(`${line(e)}; ${e.conclusion?.outcome ?? e.status}\n`);
        }),
      );
  }

  cmd
    .command('exclude-events <id>')
    .description(
      'exclude events from every count (they stay stored with when, who and why): by --event-id, --unit, --metric, --out-of-range',
    )
    .requiredOption('--reason <text>', 'why (recorded)')
    .option('--event-id <id...>', 'event ids')
    .option('--unit <unit>', "the unit's events")
    .option('--metric <name>', 'only events of this metric')
    .option('--out-of-range', 'events whose stored value is beyond the safe bound or not finite', false)
    .option('--by <who>', 'who excludes (recorded; default the OS user)')
    .option('--json', 'JSON output', false)
    .action(
      (
        id: string,
        flags: {
          reason: string;
          eventId?: string[];
          unit?: string;
          metric?: string;
          outOfRange: boolean;
          by?: string;
          json: boolean;
        },
      ) =>
        withExperiments(async (service) => {
          const body = {
            reason: flags.reason,
            ...(flags.eventId !== undefined ? { event_ids: flags.eventId } : {}),
            ...(flags.unit !== undefined ? { unit: flags.unit } : {}),
            ...(flags.metric !== undefined ? { metric: flags.metric } : {}),
            ...(flags.outOfRange ? { outOfRange: true } : {}),
            ...(flags.by !== undefined ? { by: flags.by } : {}),
          };
          const result = await service.excludeEvents(id, body, { defaultBy: osUser(), via: 'cli' });
          if (flags.json) return printJson(result);
          process.stdout.write(`excluded ${result.excluded} event(s) of ${id}\n`);
        }),
    );

  cmd
    .command('conclude <id>')
    .description('conclude an experiment, recording the winning arm')
    .option('--winner <arm>', 'the winning arm')
    .option('--reason <text>', 'why')
    .option('--json', 'JSON output', false)
    .action((id: string, flags: { winner?: string; reason?: string; json: boolean }) =>
      withExperiments(async (service) => {
        const e = await service.conclude(id, {
          ...(flags.winner !== undefined ? { winner: flags.winner } : {}),
          ...(flags.reason !== undefined ? { reason: flags.reason } : {}),
        });
        if (flags.json) return printJson(e);
        process.stdout.write(`${line(e)}; winner ${e.conclusion?.winner ?? 'none'}\n`);
      }),
    );
}
