import { type FeaturesContext, openFeatures } from '../../app/open-features.js';
import { findProjectDir, loadConfig } from '../../core/config.js';
import { readSetting } from '../../core/settings/read-settings.js';
import {
  type LoadedDefinitions,
  loadDefinitions,
  resolveDefinitionFile,
} from '../../features/load-definitions.js';

/** Opens the feature store's backends for one command and closes them after. */
export async function withFeatures<T>(fn: (ctx: FeaturesContext) => Promise<T>): Promise<T> {
  const ctx = await openFeatures(loadConfig());
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

/** The definition file of `--file`, FERRY_FEATURES_FILE, or features.{json,ts,mjs} in the project. */
export function loadRepoFile(file: string | undefined): Promise<LoadedDefinitions> {
  const explicit = file ?? readSetting(process.env, 'FERRY_FEATURES_FILE');
  return loadDefinitions(resolveDefinitionFile(findProjectDir(process.cwd()), explicit));
}
