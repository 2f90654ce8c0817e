import { openOnlineStore } from '../adapters/factory.js';
import { SqlOnlineStore } from '../adapters/sql/sql-online-store.js';
import type { OnlineFeatureStore } from '../ports/online-feature-store.js';
import type { SqlClient } from '../ports/sql.js';

export interface LazyOnlineStore {
  /** The store, opened on the first call; a failed open is retried by the next call. */
  get(): Promise<OnlineFeatureStore>;
  /** Closes it if it was opened (a table store leaves the shared client to its owner). */
  close(): Promise<void>;
}

/**
 * The online feature store of FERRY_ONLINE_STORE (`redis://…`, a database URL), or a table beside
 * the registry on `sql` when unset, opened on first use: the CLI and the server only pay for it
 * when a command or request reads features.
 */
export function lazyOnlineStore(sql: SqlClient, url: string | undefined): LazyOnlineStore {
  let opened: Promise<OnlineFeatureStore> | undefined;
  const open = async (): Promise<OnlineFeatureStore> => {
    const store = url === undefined ? new SqlOnlineStore({ sql }) : openOnlineStore(url);
    try {
      await store.init();
    } catch (e) {
      await store.close().catch(() => {});
      throw e;
    }
    return store;
  };
  return {
    get: () => {
      opened ??= open().catch((e: unknown) => {
        opened = undefined;
        throw e;
      });
      return opened;
    },
    close: async () => {
      const store = opened;
      opened = undefined;
      if (store !== undefined) await (await store.catch(() => undefined))?.close();
    },
  };
}
