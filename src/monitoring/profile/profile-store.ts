import { ErrorCode, FerryError } from '../../core/errors.js';
import { defineSchema, migrate } from '../../core/migrations.js';
import type { SqlClient } from '../../ports/sql.js';
import type { ReferenceProfile } from '../reference-profile.js';

/** One row per (model, version); the profile as JSON text (SQLite and PostgreSQL alike). */
export const REFERENCE_PROFILE_MIGRATIONS = defineSchema('reference-profiles', [
  {
    version: 1,
    description: 'ferry_reference_profiles: the training data profile of each model version',
    statements: [
      `CREATE TABLE IF NOT EXISTS ferry_reference_profiles (
        model TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        source TEXT NOT NULL,
        profile TEXT NOT NULL,
        PRIMARY KEY (model, version)
      )`,
    ],
  },
]);

/** The reference profiles, per model version; `put` replaces a version's profile. */
export class ReferenceProfileStore {
  constructor(private readonly sql: SqlClient) {}

  async init(): Promise<void> {
    await migrate(this.sql, REFERENCE_PROFILE_MIGRATIONS);
  }

  async put(profile: ReferenceProfile): Promise<void> {
    await this.sql.execute(
      `INSERT INTO ferry_reference_profiles (model, version, created_at, source, profile)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (model, version) DO UPDATE SET
         created_at = excluded.created_at, source = excluded.source, profile = excluded.profile`,
      [profile.model, profile.version, profile.createdAt, profile.source, JSON.stringify(profile)],
    );
  }

  /** The version's profile, or undefined when it has none. */
  async get(model: string, version: number): Promise<ReferenceProfile | undefined> {
    const [row] = await this.sql.query<{ profile: unknown }>(
      'SELECT profile FROM ferry_reference_profiles WHERE model = $1 AND version = $2',
      [model, version],
    );
    if (row === undefined) return undefined;
    const parsed = JSON.parse(String(row.profile)) as Partial<ReferenceProfile>;
    // A profile written by a later schema is not silently misread.
    if (parsed.schema !== 1) {
      throw new FerryError(
        ErrorCode.MONITOR_NO_REFERENCE,
        `the reference profile of ${model}/${version} has schema ${String(parsed.schema)}, which this Ferry cannot read; make it again with \`ferry monitor profile\``,
      );
    }
    return parsed as ReferenceProfile;
  }
}
