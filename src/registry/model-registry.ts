import { randomUUID } from 'node:crypto';
import { ErrorCode, FerryError } from '../core/errors.js';
import { sha256Hex } from '../core/hash.js';
import { migrate } from '../core/migrations.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { SqlClient, SqlExecutor } from '../ports/sql.js';
import { assertAlias, assertModelName, assertVersion, DEFAULT_ALIAS, parseModelRef } from './model-ref.js';
import { registryNotFound } from './not-found.js';
import { encodeMeta } from './register-meta.js';
import {
  type AliasRow,
  byCodeUnit,
  type EventRow,
  toAliasEvent,
  toInt,
  toIntOrNull,
  toModelVersion,
  VERSION_COLUMNS,
  type VersionRow,
} from './rows.js';
import { REGISTRY_MIGRATIONS } from './schema.js';
import type {
  AliasEvent,
  AliasMove,
  ModelSummary,
  ModelVersion,
  RegisterMeta,
  VersionPage,
} from './types.js';

export interface ModelRegistryOptions {
  sql: SqlClient;
  blobs: BlobStore;
  clock?: () => Date;
  /**
   * Checks that an artifact (whose checksum already matched) decodes into a model; throws when it
   * does not. Run before an alias moves to a version, so that no alias ever points at a version that
   * cannot load. The wiring passes the model decoder; without it only the checksum is verified.
   */
  verifyArtifact?: (bytes: Uint8Array, version: ModelVersion) => void | Promise<void>;
}

/** Serialises every change to one model across processes (advisory lock / SQLite write lock). */
function lockKeyFor(name: string): string {
  return `registry:${name}`;
}

/**
 * Model versions, aliases and their history over any SqlClient and BlobStore. Versions are
 * immutable; aliases move, and every move is recorded so it can be rolled back.
 */
export class ModelRegistry {
  private readonly sql: SqlClient;
  private readonly blobs: BlobStore;
  private readonly clock: () => Date;
  private readonly verifyArtifact:
    | ((bytes: Uint8Array, version: ModelVersion) => void | Promise<void>)
    | undefined;

  constructor(opts: ModelRegistryOptions) {
    this.sql = opts.sql;
    this.blobs = opts.blobs;
    this.clock = opts.clock ?? (() => new Date());
    this.verifyArtifact = opts.verifyArtifact;
  }

  async init(): Promise<void> {
    await migrate(this.sql, REGISTRY_MIGRATIONS);
  }

  /**
   * Stores the artifact, then allocates the next version in one transaction. The blob goes first:
   * it is content-addressed, so a crash in between leaves a harmless orphan, never a version
   * row pointing at nothing.
   */
  async register(name: string, artifact: Uint8Array, meta: RegisterMeta): Promise<ModelVersion> {
    assertModelName(name);
    const encoded = encodeMeta(meta);
    const digest = sha256Hex(artifact);
    const stored = await this.blobs.put(artifact);
    if (stored !== digest) {
      throw new FerryError(
        ErrorCode.INTERNAL,
        `blob store returned digest ${stored} for bytes whose sha256 is ${digest}`,
      );
    }
    const createdAt = this.now();
    const row = await this.sql.transaction(
      async (tx) => {
        await tx.execute(
          'INSERT INTO ferry_models (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
          [name, createdAt],
        );
        const [latest] = await tx.query<{ v: unknown }>(
          'SELECT MAX(version) AS v FROM ferry_model_versions WHERE name = $1',
          [name],
        );
        const version = (toIntOrNull(latest?.v) ?? 0) + 1;
        const versionRow: VersionRow = {
          name,
          version,
          kind: meta.kind,
          artifact_sha256: digest,
          artifact_size: artifact.byteLength,
          ...encoded,
          created_at: createdAt,
        };
        await tx.execute(
          `INSERT INTO ferry_model_versions (${VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          [
            name,
            version,
            meta.kind,
            digest,
            artifact.byteLength,
            encoded.params,
            encoded.metrics,
            encoded.dataset,
            encoded.tags,
            encoded.git_commit,
            createdAt,
            encoded.signature,
          ],
        );
        return versionRow;
      },
      { lockKey: lockKeyFor(name) },
    );
    return toModelVersion(row, this.blobs.locate(digest), []);
  }

  async resolve(ref: string): Promise<ModelVersion> {
    const parsed = parseModelRef(ref);
    const version =
      parsed.alias === undefined ? parsed.version : await this.aliasTarget(parsed.name, parsed.alias);
    const found = await this.findVersion(this.sql, parsed.name, version);
    if (found === undefined) throw await registryNotFound(this.sql, parsed.name, `version ${version}`);
    return found;
  }

  /** Resolves `ref` and returns its artifact, refusing bytes whose size or sha256 differ from the record. */
  async loadArtifact(ref: string): Promise<{ version: ModelVersion; bytes: Uint8Array }> {
    const version = await this.resolve(ref);
    return { version, bytes: await this.verifiedBytes(version, ref) };
  }

  /**
   * The artifact of `version`, its size checked before reading (a replaced multi-GB file is refused
   * from a stat) and its sha256 computed while reading.
   */
  private async verifiedBytes(version: ModelVersion, ref: string): Promise<Uint8Array> {
    const read = await this.blobs.read(version.artifactSha256, version.artifactSize);
    const details = { ref, location: version.artifactLocation, expectedSha256: version.artifactSha256 };
    if (read.status === 'missing') {
      throw new FerryError(
        ErrorCode.REGISTRY_ARTIFACT_MISSING,
        `the artifact of ${version.name}/${version.version} is missing from ${version.artifactLocation}`,
        { details },
      );
    }
    if (read.status === 'size-mismatch' || read.sha256 !== version.artifactSha256) {
      throw new FerryError(
        ErrorCode.REGISTRY_CHECKSUM_MISMATCH,
        `the artifact at ${version.artifactLocation} does not match its recorded sha256 ` +
          `(${version.artifactSize} bytes, ${version.artifactSha256}); refusing to load ${version.name}/${version.version}`,
        {
          details: {
            ...details,
            ...(read.status === 'ok' ? { actualSha256: read.sha256 } : {}),
            expectedSize: version.artifactSize,
            actualSize: read.status === 'ok' ? read.bytes.byteLength : read.actualSize,
          },
        },
      );
    }
    return read.bytes;
  }

  /**
   * Refuses (FERRY_REGISTRY_UNLOADABLE_VERSION, 409) to point an alias at a version whose artifact is
   * missing, altered or does not decode: a server following the alias could not load it, and a fresh
   * one would not start. Reads blobs only, so it may run inside a registry transaction.
   */
  private async assertLoadable(version: ModelVersion, alias: string, current: number | null): Promise<void> {
    const ref = `${version.name}/${version.version}`;
    try {
      const bytes = await this.verifiedBytes(version, ref);
      await this.verifyArtifact?.(bytes, version);
    } catch (cause) {
      const reason = cause instanceof FerryError ? cause.code : ErrorCode.MODEL_INVALID_ARTIFACT;
      const what =
        reason === ErrorCode.REGISTRY_ARTIFACT_MISSING
          ? 'is missing'
          : reason === ErrorCode.REGISTRY_CHECKSUM_MISMATCH
            ? 'does not match its recorded sha256'
            : 'does not decode into a model';
      throw new FerryError(
        ErrorCode.REGISTRY_UNLOADABLE_VERSION,
        `refusing to point ${version.name}@${alias} at version ${version.version}: its artifact ${what}; ` +
          `the alias still points at ${current ?? 'nothing'}`,
        { cause, details: { name: version.name, alias, version: version.version, reason } },
      );
    }
  }

  /**
   * Points `alias` at an existing version, atomically with its history entry. Returns the previous
   * version. With `expectedFrom` (a version, or null for "no alias yet") the move is refused
   * (REGISTRY_ALIAS_MOVED, 409) unless the alias points there when the move commits: what a
   * confirmation said is what happens.
   */
  async setAlias(
    name: string,
    alias: string,
    version: number,
    reason?: string,
    expectedFrom?: number | null,
  ): Promise<number | null> {
    assertModelName(name);
    assertAlias(alias);
    assertVersion(version);
    // Verified before the transaction, so that reading and decoding a large artifact does not hold
    // the model's lock: versions are immutable and their blobs content-addressed.
    const target = await this.findVersion(this.sql, name, version);
    if (target !== undefined) {
      const current = await this.currentAlias(this.sql, name, alias);
      if (current !== version) await this.assertLoadable(target, alias, current);
    }
    return this.sql.transaction(
      async (tx) => {
        if ((await this.findVersion(tx, name, version)) === undefined) {
          throw await registryNotFound(tx, name, `version ${version}`);
        }
        const previous = await this.currentAlias(tx, name, alias);
        if (expectedFrom !== undefined) assertAliasAt(name, alias, previous, expectedFrom);
        if (previous === version) return previous;
        await this.moveAlias(tx, name, alias, previous, version, reason ?? null);
        return previous;
      },
      { lockKey: lockKeyFor(name) },
    );
  }

  /** Removes an alias; returns the version it pointed at, or null if it did not exist. */
  async deleteAlias(name: string, alias: string, reason?: string): Promise<number | null> {
    assertModelName(name);
    assertAlias(alias);
    return this.sql.transaction(
      async (tx) => {
        // An unknown model is not found (as everywhere); an unknown alias of a known one is a no-op.
        await this.requireModel(name, tx);
        const previous = await this.currentAlias(tx, name, alias);
        if (previous === null) return null;
        await tx.execute('DELETE FROM ferry_model_aliases WHERE name = $1 AND alias = $2', [name, alias]);
        await this.recordEvent(tx, name, alias, previous, null, reason ?? null);
        return previous;
      },
      { lockKey: lockKeyFor(name) },
    );
  }

  async aliases(name: string): Promise<Record<string, number>> {
    assertModelName(name);
    await this.requireModel(name);
    const rows = await this.sql.query<AliasRow>(
      'SELECT name, alias, version FROM ferry_model_aliases WHERE name = $1',
      [name],
    );
    return aliasRecord(rows);
  }

  /**
   * Every version (of one model, or of all), oldest first, with the aliases pointing at each. A model
   * that does not exist is REGISTRY_NOT_FOUND, as on every other read by name (an empty list would
   * look like a model with no versions).
   */
  async list(name?: string): Promise<ModelVersion[]> {
    if (name !== undefined) {
      assertModelName(name);
      await this.requireModel(name);
    }
    const where = name === undefined ? '' : ' WHERE name = $1';
    const params = name === undefined ? [] : [name];
    const rows = await this.sql.query<VersionRow>(
      `SELECT ${VERSION_COLUMNS} FROM ferry_model_versions${where}`,
      params,
    );
    const aliasRows = await this.sql.query<AliasRow>(
      `SELECT name, alias, version FROM ferry_model_aliases${where}`,
      params,
    );
    const aliasesOf = new Map<string, string[]>();
    for (const a of aliasRows) {
      const key = `${a.name}/${toInt(a.version)}`;
      aliasesOf.set(key, [...(aliasesOf.get(key) ?? []), a.alias]);
    }
    return rows
      .map((r) =>
        toModelVersion(
          r,
          this.blobs.locate(r.artifact_sha256),
          aliasesOf.get(`${r.name}/${toInt(r.version)}`) ?? [],
        ),
      )
      .sort((a, b) => byCodeUnit(a.name, b.name) || a.version - b.version);
  }

  /**
   * One page of a model's versions and how many it has in all: `newestFirst` orders by version
   * descending (the dashboard's order), otherwise ascending as `list`. The page is cut in SQL, so a
   * model with many thousands of versions costs one page's rows.
   */
  async listVersions(name: string, page: VersionPage): Promise<{ versions: ModelVersion[]; total: number }> {
    assertModelName(name);
    await this.requireModel(name);
    const [count] = await this.sql.query<{ n: unknown }>(
      'SELECT COUNT(*) AS n FROM ferry_model_versions WHERE name = $1',
      [name],
    );
    const rows = await this.sql.query<VersionRow>(
      `SELECT ${VERSION_COLUMNS} FROM ferry_model_versions WHERE name = $1 ORDER BY version ${page.newestFirst ? 'DESC' : 'ASC'} LIMIT $2 OFFSET $3`,
      [name, page.limit, page.offset],
    );
    const aliasRows = await this.sql.query<AliasRow>(
      'SELECT name, alias, version FROM ferry_model_aliases WHERE name = $1',
      [name],
    );
    const aliasesOf = new Map<number, string[]>();
    for (const a of aliasRows) {
      const v = toInt(a.version);
      aliasesOf.set(v, [...(aliasesOf.get(v) ?? []), a.alias]);
    }
    return {
      versions: rows.map((r) =>
        toModelVersion(r, this.blobs.locate(r.artifact_sha256), aliasesOf.get(toInt(r.version)) ?? []),
      ),
      total: toInt(count?.n ?? 0),
    };
  }

  async listModels(): Promise<ModelSummary[]> {
    const rows = await this.sql.query<{
      name: string;
      created_at: string;
      version_count: unknown;
      latest: unknown;
    }>(
      `SELECT m.name, m.created_at, COUNT(v.version) AS version_count, MAX(v.version) AS latest
       FROM ferry_models m LEFT JOIN ferry_model_versions v ON v.name = m.name
       GROUP BY m.name, m.created_at`,
    );
    const aliasRows = await this.sql.query<AliasRow>('SELECT name, alias, version FROM ferry_model_aliases');
    return rows
      .map((r) => ({
        name: r.name,
        createdAt: r.created_at,
        versionCount: toInt(r.version_count),
        latestVersion: toIntOrNull(r.latest),
        aliases: aliasRecord(aliasRows.filter((a) => a.name === r.name)),
      }))
      .sort((a, b) => byCodeUnit(a.name, b.name));
  }

  /** The moves of one alias, newest first. */
  async aliasHistory(name: string, alias: string): Promise<AliasEvent[]> {
    assertModelName(name);
    assertAlias(alias);
    await this.requireModel(name);
    const rows = await this.sql.query<EventRow>(
      'SELECT id, name, alias, from_version, to_version, at, reason FROM ferry_alias_events WHERE name = $1 AND alias = $2 ORDER BY seq DESC',
      [name, alias],
    );
    return rows.map(toAliasEvent);
  }

  /**
   * One page of a model's alias moves (of every alias, or of one), newest first, and how many there
   * are in all: the audit trail, including aliases deleted since.
   */
  async aliasEvents(
    name: string,
    page: { limit: number; offset: number; alias?: string },
  ): Promise<{ events: AliasEvent[]; total: number }> {
    assertModelName(name);
    if (page.alias !== undefined) assertAlias(page.alias);
    await this.requireModel(name);
    const where = page.alias === undefined ? 'WHERE name = $1' : 'WHERE name = $1 AND alias = $2';
    const params = page.alias === undefined ? [name] : [name, page.alias];
    const [count] = await this.sql.query<{ n: unknown }>(
      `SELECT COUNT(*) AS n FROM ferry_alias_events ${where}`,
      params,
    );
    const n = params.length;
    const rows = await this.sql.query<EventRow>(
      `SELECT id, name, alias, from_version, to_version, at, reason FROM ferry_alias_events ${where} ORDER BY seq DESC LIMIT $${n + 1} OFFSET $${n + 2}`,
      [...params, page.limit, page.offset],
    );
    return { events: rows.map(toAliasEvent), total: toInt(count?.n ?? 0) };
  }

  /**
   * Moves the alias back to where it pointed before its last move. Rolling back twice therefore
   * returns to where it started: the rollback is itself a move. With `expected`, refused
   * (REGISTRY_ALIAS_MOVED) unless the alias still points at `from` and would go back to `to`.
   */
  async rollback(
    name: string,
    alias: string = DEFAULT_ALIAS,
    reason = 'rollback',
    expected?: { from?: number | null; to?: number },
  ): Promise<AliasMove> {
    assertModelName(name);
    assertAlias(alias);
    return this.sql.transaction(
      async (tx) => {
        const [last] = await tx.query<EventRow>(
          'SELECT id, name, alias, from_version, to_version, at, reason FROM ferry_alias_events WHERE name = $1 AND alias = $2 ORDER BY seq DESC LIMIT 1',
          [name, alias],
        );
        const target = last === undefined ? null : toIntOrNull(last.from_version);
        if (target === null) {
          const missing =
            last === undefined ? `history for alias "${alias}"` : `earlier version for alias "${alias}"`;
          throw await registryNotFound(tx, name, `${missing} to roll back to`);
        }
        const current = await this.currentAlias(tx, name, alias);
        if (expected?.from !== undefined) assertAliasAt(name, alias, current, expected.from);
        if (expected?.to !== undefined && expected.to !== target) {
          throw new FerryError(
            ErrorCode.REGISTRY_ALIAS_MOVED,
            `${name}@${alias} would roll back to ${target}, not ${expected.to}: its history changed since; nothing was changed`,
            { details: { name, alias, current, target, expected: expected.to } },
          );
        }
        const version = await this.findVersion(tx, name, target);
        if (version === undefined) throw await registryNotFound(tx, name, `version ${target}`);
        await this.assertLoadable(version, alias, current);
        await this.moveAlias(tx, name, alias, current, target, reason);
        return { name, alias, from: current, to: target };
      },
      { lockKey: lockKeyFor(name) },
    );
  }

  private async findVersion(
    sql: SqlExecutor,
    name: string,
    version: number,
  ): Promise<ModelVersion | undefined> {
    const [row] = await sql.query<VersionRow>(
      `SELECT ${VERSION_COLUMNS} FROM ferry_model_versions WHERE name = $1 AND version = $2`,
      [name, version],
    );
    if (row === undefined) return undefined;
    const aliases = await sql.query<{ alias: string }>(
      'SELECT alias FROM ferry_model_aliases WHERE name = $1 AND version = $2',
      [name, version],
    );
    return toModelVersion(
      row,
      this.blobs.locate(row.artifact_sha256),
      aliases.map((a) => a.alias),
    );
  }

  private async aliasTarget(name: string, alias: string): Promise<number> {
    const version = await this.currentAlias(this.sql, name, alias);
    if (version === null) throw await registryNotFound(this.sql, name, `alias "${alias}"`);
    return version;
  }

  private async currentAlias(sql: SqlExecutor, name: string, alias: string): Promise<number | null> {
    const [row] = await sql.query<AliasRow>(
      'SELECT name, alias, version FROM ferry_model_aliases WHERE name = $1 AND alias = $2',
      [name, alias],
    );
    return row === undefined ? null : toInt(row.version);
  }

  private async moveAlias(
    tx: SqlExecutor,
    name: string,
    alias: string,
    from: number | null,
    to: number,
    reason: string | null,
  ): Promise<void> {
    await tx.execute(
      `INSERT INTO ferry_model_aliases (name, alias, version, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`,
      [name, alias, to, this.now()],
    );
    await this.recordEvent(tx, name, alias, from, to, reason);
  }

  /** Must run under the model's lock: `seq` is allocated as max + 1. */
  private async recordEvent(
    tx: SqlExecutor,
    name: string,
    alias: string,
    from: number | null,
    to: number | null,
    reason: string | null,
  ): Promise<void> {
    const [last] = await tx.query<{ s: unknown }>(
      'SELECT MAX(seq) AS s FROM ferry_alias_events WHERE name = $1',
      [name],
    );
    const seq = (toIntOrNull(last?.s) ?? 0) + 1;
    await tx.execute(
      'INSERT INTO ferry_alias_events (id, name, alias, seq, from_version, to_version, at, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [randomUUID(), name, alias, seq, from, to, this.now(), reason],
    );
  }

  private async requireModel(name: string, sql: SqlExecutor = this.sql): Promise<void> {
    const rows = await sql.query('SELECT name FROM ferry_models WHERE name = $1', [name]);
    if (rows.length === 0) throw await registryNotFound(sql, name, 'entry');
  }

  private now(): string {
    return this.clock().toISOString();
  }
}

function aliasRecord(rows: AliasRow[]): Record<string, number> {
  return Object.fromEntries(
    rows.map((r) => [r.alias, toInt(r.version)] as const).sort(([a], [b]) => byCodeUnit(a, b)),
  );
}

/** REGISTRY_ALIAS_MOVED unless the alias points at `expected` (null: the alias does not exist). */
function assertAliasAt(name: string, alias: string, current: number | null, expected: number | null): void {
  if (current === expected) return;
  throw new FerryError(
    ErrorCode.REGISTRY_ALIAS_MOVED,
    `${name}@${alias} points at ${current ?? 'nothing'} now, not ${expected ?? 'nothing'}: it moved since; nothing was changed`,
    { details: { name, alias, current, expected } },
  );
}
