import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { sqliteFileOf } from '../../app/backends.js';
import { openFerry } from '../../app/open-ferry.js';
import { loadConfig } from '../../core/config.js';
import { kindContextOf } from '../../registry/load-model.js';
import { assertModelName } from '../../registry/model-ref.js';
import { registerArtifact } from '../../registry/register-artifact.js';
import { printJson, usageError } from '../output.js';
import { outputWriteError, validateOutputPath } from '../output-path.js';

interface ExportFlags {
  model: string;
  format: string;
  dtype: string;
  output: string;
  register?: string;
  alias?: string;
  json: boolean;
}

async function writeOutput(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
  } catch (e) {
    throw outputWriteError('--output', path, e);
  }
}

/**
 * `ferry models export`: the built-in text classifier's head as an ONNX file (features in,
 * probabilities and label out; docs/optimization.md, "ONNX export"), optionally registered as an
 * `onnx` version with its lineage. Options and the output path are checked before any work, the
 * kind before anything is written.
 */
export function registerModelsExportCommand(models: Command): void {
  models
    .command('export')
    .description('export a text-classifier version to ONNX (its head: features -> probabilities, label)')
    .requiredOption('--model <ref>', 'the version to export (name@alias or name/version)')
    .option('--format <format>', 'export format: onnx', 'onnx')
    .option('--dtype <dtype>', 'weights as float32 or int8 (one scale per class)', 'float32')
    .requiredOption('--output <path>', 'the .onnx file to write')
    .option('--register <name>', 'also register the file as an onnx version of this model name')
    .option('--alias <alias>', 'with --register: point this alias at the new version')
    .option('--json', 'JSON output', false)
    .action(async (flags: ExportFlags) => {
      // The ONNX builder (protobuf) loads when exporting, not when the CLI starts.
      const { exportLineage, exportVersion, parseExportOptions } = await import(
        '../../optimize/onnx-export/export-model.js'
      );
      const opts = parseExportOptions(flags.format, flags.dtype);
      if (flags.alias !== undefined && flags.register === undefined)
        throw usageError('--alias needs --register <name>');
      if (flags.register !== undefined) assertModelName(flags.register);
      const config = loadConfig();
      const output = await validateOutputPath(flags.output, {
        flag: '--output',
        inputs: [sqliteFileOf(config.db)],
      });
      const ferry = await openFerry(config);
      try {
        const { version, bytes } = await ferry.registry.loadArtifact(flags.model);
        const onnx = exportVersion(version, bytes, opts);
        await writeOutput(output, onnx);
        const source = `${version.name}/${version.version}`;
        let registered: string | undefined;
        if (flags.register !== undefined) {
          const v = await registerArtifact(
            ferry.registry,
            flags.register,
            onnx,
            { kind: 'onnx', params: exportLineage(version, opts) },
            kindContextOf(config),
          );
          if (flags.alias !== undefined)
            await ferry.registry.setAlias(v.name, flags.alias, v.version, 'ferry models export --alias');
          registered = `${v.name}/${v.version}`;
        }
        const result = { source, output, bytes: onnx.length, ...opts, registered: registered ?? null };
        if (flags.json) return printJson(result);
        process.stdout.write(
          `exported ${source} to ${output} (${opts.format}, ${opts.dtype}, ${onnx.length} bytes)` +
            `${registered ? `; registered ${registered}${flags.alias ? ` [${flags.alias}]` : ''}` : ''}\n`,
        );
      } finally {
        await ferry.close();
      }
    });
}
