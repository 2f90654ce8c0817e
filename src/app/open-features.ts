import { openSqlClient } from '../adapters/factory.js';
import type { FerryConfig } from '../core/config.js';
import { readSetting } from '../core/settings/read-settings.js';
import { FeatureRepoStore } from '../features/feature-repo-store.js';
import type { OpenSource } from '../features/source-rows.js';
import type { OnlineFeatureStore } from '../ports/online-feature-store.js';
import type { SqlClient } from '../ports/sql.js';
import { featureSourceOpener } from './feature-sources.js';
import { lazyOnlineStore } from './lazy-online-store.js';

/**
 * The feature store's backends from the settings: the repository and the offline store in the
 * Ferry database (FERRY_DB), the online store from FERRY_ONLINE_STORE (default: a table in that
 * same database, sharing its client). The online store is opened on first use, so commands that
 * do not touch it (list, describe, training sets) work while Redis is down.
 */
export interface FeaturesContext {
  readonly sql: SqlClient;
  readonly repoStore: FeatureRepoStore;
  online(): Promise<OnlineFeatureStore>;
  readonly openSource: OpenSource;
  close(): Promise<void>;
}

export async function openFeatures(
  config: FerryConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<FeaturesContext> {
  const onlineUrl = readSetting(env, 'FERRY_ONLINE_STORE');
  const sql = openSqlClient(config.db);
  const repoStore = new FeatureRepoStore({ sql });
  try {
    await sql.init();
    await repoStore.init();
  } catch (e) {
    await sql.close().catch(() => {});
    throw e;
  }
  const online = lazyOnlineStore(sql, onlineUrl);
  return {
    sql,
    repoStore,
    online: online.get,
    openSource: featureSourceOpener(sql, config.db),
    close: async () => {
      try {
        await online.close();
      } finally {
        await sql.close();
      }
    },
  };
}
