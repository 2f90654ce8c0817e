/** The admin API's answers the Models page reads (src/serving/http/routes/admin-routes.ts). */

export interface ModelSummary {
  name: string;
  createdAt: string;
  versionCount: number;
  latestVersion: number | null;
  aliases: Record<string, number>;
  kinds: string[];
}

/** GET /v1/models */
export interface ModelsAnswer {
  models: ModelSummary[];
  /** `name@alias` → the version this server serves for it. */
  served: Record<string, number>;
}

export interface ModelVersion {
  name: string;
  version: number;
  kind: string;
  artifactSha256: string;
  artifactSize: number;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  dataset: Record<string, unknown>;
  tags: Record<string, string>;
  gitCommit: string | null;
  createdAt: string;
  aliases: string[];
}

/** GET /v1/models/:name?limit&offset&order */
export interface VersionsAnswer {
  versions: ModelVersion[];
  total: number;
  limit: number;
  offset: number;
}

export interface AliasEvent {
  id: string;
  alias: string;
  fromVersion: number | null;
  toVersion: number | null;
  at: string;
  reason: string | null;
}

/** GET /v1/models/:name/aliases?limit&offset&alias */
export interface AliasesAnswer {
  name: string;
  aliases: Record<string, number>;
  events: AliasEvent[];
  total: number;
}

/** PUT …/aliases/:alias and POST …/aliases/:alias/rollback */
export interface AliasMoveAnswer {
  name: string;
  alias: string;
  from: number | null;
  to: number;
  served: Record<string, number>;
}
