import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { openFerry } from '../../app/open-ferry.js';
import { openProfileStore, profileFromFile } from '../../app/open-monitoring.js';
import { loadConfig } from '../../core/config.js';
import { ErrorCode, FerryError } from '../../core/errors.js';
import { bundleCustomModel } from '../../model/kinds/custom/bundle.js';
import { kindNames, modelKind } from '../../model/kinds/index.js';
import { kindContextOf } from '../../registry/load-model.js';
import { registerArtifact } from '../../registry/register-artifact.js';
import { printJson, usageError } from '../output.js';
import { remoteArtifactOf } from './remote-artifact.js';

interface RegisterFlags {
  name: string;
  kind: string;
  artifact?: string;
  entry?: string;
  signature?: string;
  url?: string;
  remoteModel?: string;
  remoteVersion?: string;
  tag?: string[];
  alias?: string;
  referenceData?: string;
  json: boolean;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function tagsOf(list: readonly string[] = []): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const item of list) {
    const at = item.indexOf('=');
    if (at < 1) throw usageError(`--tag takes key=value, got "${item}"`);
    tags[item.slice(0, at)] = item.slice(at + 1);
  }
  return tags;
}

/** The artifact's bytes for a kind: the file (onnx, text-classifier), a bundle (custom), a document (remote-v2). */
async function artifactOf(kind: string, flags: RegisterFlags): Promise<Uint8Array> {
  if (kind === 'remote-v2') return remoteArtifactOf(flags);
  if (flags.artifact === undefined) throw usageError(`--kind ${flags.kind} needs --artifact <path>`);
  if (kind === 'custom') {
    return bundleCustomModel(flags.artifact, flags.entry !== undefined ? { entry: flags.entry } : {});
  }
  return new Uint8Array(await readInput(flags.artifact, '--artifact'));
}

/** A file the command reads: a missing one or a directory is the caller's mistake, said plainly. */
async function readInput(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw usageError(`${flag}: no file at ${path}`);
    if (code === 'EISDIR') throw usageError(`${flag}: ${path} is a directory; this kind takes a file`);
    throw e;
  }
}

async function readableFile(path: string, flag: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch {
    throw usageError(`${flag}: no readable file at ${path}`);
  }
}

async function signatureOf(path: string | undefined): Promise<unknown> {
  if (path === undefined) return undefined;
  const text = (await readInput(path, '--signature')).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new FerryError(
      ErrorCode.MODEL_INVALID_SIGNATURE,
      `--signature: ${path} is not JSON ({"inputs": [...], "outputs": [...]})`,
    );
  }
}

/** `ferry models register`: a model of any kind, checked by its kind before anything is written. */
export function registerModelsRegisterCommand(models: Command): void {
  models
    .command('register')
    .description('register a model of any kind (onnx, custom, remote-v2, text-classifier) as a new version')
    .requiredOption('--name <name>', 'model name')
    .requiredOption('--kind <kind>', `model kind: ${kindNames().join(', ')}`)
    .option(
      '--artifact <path>',
      'the .onnx file, the custom module (file or directory), or a text-classifier artifact',
    )
    .option('--entry <file>', 'custom: the entry module inside the directory')
    .option(
      '--signature <file>',
      'a JSON signature ({inputs, outputs}) overriding the one read from the model',
    )
    .option('--url <url>', 'remote-v2: base URL of the Open Inference Protocol v2 server')
    .option('--remote-model <name>', 'remote-v2: the model name on that server (default: --name)')
    .option('--remote-version <version>', 'remote-v2: the version on that server (default: its own default)')
    .option('--tag <key=value>', 'a tag (repeatable)', collect)
    .option('--alias <alias>', 'point this alias at the new version once registered')
    .option(
      '--reference-data <path>',
      "make the version's reference profile for drift reports from this file (as `ferry monitor profile --data`)",
    )
    .option('--json', 'JSON output', false)
    .action(async (flags: RegisterFlags) => {
      const kind = modelKind(flags.kind).aliases?.[0] ?? modelKind(flags.kind).kind;
      const artifact = await artifactOf(kind, flags);
      const signature = await signatureOf(flags.signature);
      // A missing file fails before anything is registered; its rows are checked once the model opens.
      if (flags.referenceData !== undefined) await readableFile(flags.referenceData, '--reference-data');
      const config = loadConfig();
      const ferry = await openFerry(config);
      try {
        const version = await registerArtifact(
          ferry.registry,
          flags.name,
          artifact,
          { kind: flags.kind, signature, tags: tagsOf(flags.tag) },
          kindContextOf(config),
        );
        if (flags.alias !== undefined) {
          await ferry.registry.setAlias(
            flags.name,
            flags.alias,
            version.version,
            'ferry models register --alias',
          );
        }
        let profile: { rows: number; rejected: number } | undefined;
        if (flags.referenceData !== undefined) {
          const made = await profileFromFile(
            { registry: ferry.registry, profiles: await openProfileStore(ferry), config },
            `${version.name}/${version.version}`,
            flags.referenceData,
          );
          profile = { rows: made.profile.rows, rejected: made.rejected };
        }
        const shown = await ferry.registry.resolve(`${version.name}/${version.version}`);
        if (flags.json) return printJson(profile === undefined ? shown : { ...shown, profile });
        if (profile !== undefined)
          process.stdout.write(`reference profile from ${profile.rows} rows (${profile.rejected} refused)\n`);
        process.stdout.write(
          `registered ${shown.name}/${shown.version} (${kind}, ${shown.artifactSize} bytes, sha256 ${shown.artifactSha256.slice(0, 12)})` +
            `${shown.aliases.length ? ` [${shown.aliases.join(', ')}]` : ''}\n`,
        );
      } finally {
        await ferry.close();
      }
    });
}
