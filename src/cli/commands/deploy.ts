import type { Command } from 'commander';
import { openFerry } from '../../app/open-ferry.js';
import { loadConfig } from '../../core/config.js';
import { ErrorCode, FerryError } from '../../core/errors.js';
import { FERRY_VERSION } from '../../core/version.js';
import { parseDeployOptions, parseDeployTarget, type RawDeployFlags } from '../../deploy/deploy-options.js';
import { DEPLOY_TARGETS } from '../../deploy/deploy-types.js';
import { writeRendered } from '../../deploy/write-rendered.js';
import { printJson } from '../output.js';

interface RenderFlags extends RawDeployFlags {
  out?: string;
  force: boolean;
  json: boolean;
}

/**
 * `ferry deploy render <target>`: the files to run Ferry on a container engine, Kubernetes (plain,
 * KServe, Seldon), AWS Lambda, a VM with systemd, or GitHub Actions (docs/deployment.md). Flags are
 * checked and the files rendered before anything is written; then all are written or none.
 */
export function registerDeployCommand(program: Command): void {
  const deploy = program
    .command('deploy')
    .description('render deployment files (container, Kubernetes, Lambda, systemd, CI/CD)');
  deploy
    .command('targets')
    .description('list the deployment targets')
    .option('--json', 'JSON output', false)
    .action(async (flags: { json: boolean }) => {
      const { deployTargetSpecs } = await import('../../deploy/targets.js');
      const rows = deployTargetSpecs().map((s) => ({
        target: s.target,
        description: s.description,
        defaultOut: s.defaultOut,
      }));
      if (flags.json) printJson(rows);
      else
        for (const r of rows)
          process.stdout.write(`${r.target.padEnd(16)}${r.description} (default --out ${r.defaultOut})\n`);
    });
  deploy
    .command('render')
    .description('write the files of one deployment target')
    .argument('<target>', DEPLOY_TARGETS.join(' | '))
    .option(
      '--model <ref>',
      'the model served, name@alias (default tagifai@production; when given, it must exist in the registry)',
    )
    .option('--out <dir>', "output directory (default: the target's, e.g. deploy/kubernetes)")
    .option(
      '--image <ref>',
      'container image (default ferry:<version>, what `podman build -t ferry:<version> .` makes)',
    )
    .option('--replicas <n>', 'serving replicas, 1..1000 (default 2)')
    .option('--cpu <quantity>', 'CPU per serving container: cores or millicores, 50m..64 (default 1)')
    .option('--memory <quantity>', 'memory per serving container, 128Mi..256Gi (default 512Mi)')
    .option('--namespace <name>', 'Kubernetes namespace (default ferry)')
    .option('--port <port>', 'port the server listens on (default 8000)')
    .option('--name <name>', 'name of the application objects (default ferry)')
    .option(
      '--db-secret <name:key>',
      'Secret key holding FERRY_DB, the postgres:// URL (default ferry-db:url)',
    )
    .option('--token-secret <name:key>', 'Secret key holding FERRY_ADMIN_TOKEN (default ferry-admin:token)')
    .option('--shutdown-timeout-ms <ms>', 'drain time on SIGTERM; grace periods follow it (default 15000)')
    .option(
      '--force',
      'write into a directory that holds other files (only the rendered files are replaced)',
      false,
    )
    .option('--json', 'JSON output', false)
    .action(async (targetText: string, flags: RenderFlags) => {
      const target = parseDeployTarget(targetText);
      const params = parseDeployOptions(flags, FERRY_VERSION);
      // The renderers (YAML among them) load when rendering, not when the CLI starts.
      const { deployTargetSpec } = await import('../../deploy/targets.js');
      const spec = deployTargetSpec(target);
      if (!spec)
        throw new FerryError(ErrorCode.DEPLOY_INVALID, `the ${target} target is not available in this build`);
      const files = spec.render(params);
      if (flags.model !== undefined) {
        // An explicit model must exist: a typo would otherwise deploy a server with nothing to serve.
        const ferry = await openFerry(loadConfig());
        try {
          await ferry.registry.resolve(`${params.model.name}@${params.model.alias}`);
        } finally {
          await ferry.close();
        }
      }
      const out = flags.out ?? spec.defaultOut;
      const written = await writeRendered(out, files, { force: flags.force });
      if (flags.json) printJson({ target, out, files: files.map((f) => f.path) });
      else {
        process.stdout.write(`wrote ${written.length} files for ${target} into ${out}:\n`);
        for (const f of files) process.stdout.write(`  ${f.path}\n`);
      }
    });
}
