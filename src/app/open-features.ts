import { openOnlineStore, openSqlClient } from '../adapters/factory.js';
import { SqlOnlineStore } from '../adapters/sql/sql-online-store.js';
import type { FerryConfig } from '../core/config.js';
import { readSetting } from '../core/settings/read-settings.js';
import { FeatureRepoStore } from '../features/feature-repo-store.js';
import type { OpenSource } from '../features/source-rows.js';
import type { OnlineFeatureStore } from '../ports/online-feature-store.js';
import type { SqlClient } from '../ports/sql.js';
import { featureSourceOpener } from './feature-sources.js';

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
  let online: Promise<OnlineFeatureStore> | undefined;
  const openOnline = async (): Promise<OnlineFeatureStore> => {
    const store = onlineUrl === undefined ? new SqlOnlineStore({ sql }) : openOnlineStore(onlineUrl);
    try {
      await store.init();
    } catch (e) {
      await store.close().catch(() => {});
      throw e;
    }
    return store;
  };
  return {
    sql,
    repoStore,
    online: () => {
      online ??= openOnline().catch((e: unknown) => {
        online = undefined;
        throw e;
      });
      return online;
    },
    openSource: featureSourceOpener(sql, config.db),
    close: async () => {
      const opened = online;
      online = undefined;
      try {
        if (opened !== undefined) await (await opened.catch(() => undefined))?.close();
      } finally {
        await sql.close();
      }
    },
  };
}
