import { openBlobStore, openSqlClient } from '../adapters/factory.js';
import type { FerryConfig } from '../core/config.js';
import { verifyArtifact } from '../model/kinds/index.js';
import type { SqlClient } from '../ports/sql.js';
import { kindContextOf } from '../registry/load-model.js';
import { ModelRegistry } from '../registry/model-registry.js';

/** The one place that turns configuration into concrete backends for the registry. */
export interface FerryContext {
  registry: ModelRegistry;
  /** The registry's database, shared by other SQL-backed stores (e.g. the prediction log). */
  sql: SqlClient;
  close(): Promise<void>;
}

export async function openFerry(config: FerryConfig): Promise<FerryContext> {
  const sql = openSqlClient(config.db);
  const blobs = openBlobStore(config.artifacts);
  // An alias only moves to a version whose artifact decodes (checked before the move commits).
  const registry = new ModelRegistry({
    sql,
    blobs,
    verifyArtifact: (bytes, version) => verifyArtifact(version.kind, bytes, kindContextOf(config)),
  });
  try {
    await sql.init();
    await registry.init();
  } catch (e) {
    await sql.close().catch(() => {});
    throw e;
  }
  return { registry, sql, close: () => sql.close() };
}
