import { ErrorCode, FerryError } from '../core/errors.js';
import { migrate } from '../core/migrations.js';
import type { OnlineFeatureStore } from '../ports/online-feature-store.js';
import type { SqlClient, SqlExecutor } from '../ports/sql.js';
import type { FeatureRepoDef, FeatureViewDef } from './feature-definitions.js';
import { deleteOfflineView, initOfflineStore } from './offline-store.js';
import { type ApplyPlan, planApply } from './plan.js';
import {
  type JsonObject,
  OBJECT_KINDS,
  type ObjectKind,
  objectsHash,
  type RepoObject,
} from './repo-objects.js';
import { FEATURE_REPO_MIGRATIONS } from './repo-schema.js';

/** The lock of every apply: one apply at a time across processes. */
const APPLY_LOCK = 'ferry:features:apply';

export interface ApplyResult {
  readonly applyId: number;
  readonly plan: ApplyPlan;
  /** Online rows deleted per invalidated view. */
  readonly onlineDeleted: Readonly<Record<string, number>>;
  /** Offline values deleted per invalidated view. */
  readonly offlineDeleted: Readonly<Record<string, number>>;
}

export interface ApplyRecord {
  readonly id: number;
  readonly appliedAt: string;
  readonly file: string;
  readonly repoHash: string;
  readonly plan: ApplyPlan;
}

/**
 * The applied repository, as readers at request time need it (online reads, training sets):
 * entities, views (their schema, TTL, entities), services. A view's TypeScript `map` is not kept
 * as a function: only materialize runs transforms, from the definition file itself.
 */
export interface AppliedRepo {
  readonly repo: FeatureRepoDef;
  readonly objects: readonly RepoObject[];
  /** `kind:name` → hash. */
  readonly hashes: ReadonlyMap<string, string>;
}

/**
 * The applied feature definitions over SqlClient, with their apply history, and the apply itself:
 * the online rows the plan invalidates are deleted first, then one transaction under a lock
 * re-reads what is applied, checks it is still what the plan was made from, deletes the offline
 * values and materialization progress the plan invalidates and writes the new objects.
 */
export class FeatureRepoStore {
  private readonly sql: SqlClient;

  constructor(opts: { sql: SqlClient }) {
    this.sql = opts.sql;
  }

  /** Creates the tables (the repository's and the offline store's). */
  async init(): Promise<void> {
    await migrate(this.sql, FEATURE_REPO_MIGRATIONS);
    await initOfflineStore(this.sql);
  }

  async applied(tx: SqlExecutor = this.sql): Promise<RepoObject[]> {
    const rows = await tx.query<{ kind: string; name: string; definition: string; hash: string }>(
      'SELECT kind, name, definition, hash FROM ferry_feature_objects ORDER BY kind, name',
    );
    const order = (k: string) => OBJECT_KINDS.indexOf(k as ObjectKind);
    return rows
      .map((r) => ({
        kind: r.kind as ObjectKind,
        name: r.name,
        definition: JSON.parse(r.definition) as JsonObject,
        hash: r.hash,
      }))
      .sort((a, b) => order(a.kind) - order(b.kind) || a.name.localeCompare(b.name));
  }

  async appliedRepo(): Promise<AppliedRepo> {
    const objects = await this.applied();
    return appliedRepoOf(objects);
  }

  /** The plan from what is applied now to `current`; nothing is changed. */
  async plan(current: readonly RepoObject[]): Promise<ApplyPlan & { basedOn: string }> {
    const applied = await this.applied();
    return { ...planApply(current, applied), basedOn: objectsHash(applied) };
  }

  /**
   * Applies `current`. `basedOn` (from `plan`) makes the apply refuse when someone else applied in
   * between: the plan shown to the user is the plan carried out, or nothing happens.
   */
  async apply(
    current: readonly RepoObject[],
    opts: { file: string; online?: OnlineFeatureStore; basedOn?: string; nowMs?: number },
  ): Promise<ApplyResult> {
    const at = new Date(opts.nowMs ?? Date.now()).toISOString();
    const before = await this.applied();
    const basedOn = objectsHash(before);
    if (opts.basedOn !== undefined && basedOn !== opts.basedOn) throw changedSincePlan();
    const plan = planApply(current, before);
    // Online rows first, outside the SQL transaction: the online store may share this database's
    // client, whose transaction would wait for it. Deleting before the commit is the safe order: a
    // failed apply leaves rows to materialize again, never rows of a definition that changed.
    const onlineDeleted: Record<string, number> = {};
    for (const inv of plan.invalidations) {
      if (inv.online && opts.online !== undefined)
        onlineDeleted[inv.view] = await opts.online.deleteView(inv.view);
    }
    return this.sql.transaction(
      async (tx) => {
        const applied = await this.applied(tx);
        if (objectsHash(applied) !== basedOn) throw changedSincePlan();
        const offlineDeleted: Record<string, number> = {};
        for (const inv of plan.invalidations) {
          if (!inv.offline) continue;
          offlineDeleted[inv.view] = await deleteOfflineView(tx, inv.view);
          await deleteMaterializationState(tx, inv.view);
        }
        const [last] = await tx.query<{ id: number | null }>(
          'SELECT MAX(id) AS id FROM ferry_feature_applies',
        );
        const applyId = Number(last?.id ?? 0) + 1;
        await tx.execute(
          'INSERT INTO ferry_feature_applies (id, applied_at, file, repo_hash, plan) VALUES ($1, $2, $3, $4, $5)',
          [applyId, at, opts.file, objectsHash(current), JSON.stringify(plan)],
        );
        const byKey = new Map(applied.map((o) => [`${o.kind}:${o.name}`, o]));
        for (const o of current) {
          if (byKey.get(`${o.kind}:${o.name}`)?.hash === o.hash) continue;
          await tx.execute(
            `INSERT INTO ferry_feature_objects (kind, name, definition, hash, apply_id, applied_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (kind, name) DO UPDATE SET definition = excluded.definition, hash = excluded.hash,
               apply_id = excluded.apply_id, applied_at = excluded.applied_at`,
            [o.kind, o.name, JSON.stringify(o.definition), o.hash, applyId, at],
          );
        }
        for (const c of plan.changes.filter((c) => c.action === 'remove')) {
          await tx.execute('DELETE FROM ferry_feature_objects WHERE kind = $1 AND name = $2', [
            c.kind,
            c.name,
          ]);
        }
        return { applyId, plan, onlineDeleted, offlineDeleted };
      },
      { lockKey: APPLY_LOCK },
    );
  }

  async history(limit = 50): Promise<ApplyRecord[]> {
    const rows = await this.sql.query<{
      id: number;
      applied_at: string;
      file: string;
      repo_hash: string;
      plan: string;
    }>('SELECT id, applied_at, file, repo_hash, plan FROM ferry_feature_applies ORDER BY id DESC LIMIT $1', [
      limit,
    ]);
    return rows.map((r) => ({
      id: Number(r.id),
      appliedAt: r.applied_at,
      file: r.file,
      repoHash: r.repo_hash,
      plan: JSON.parse(r.plan) as ApplyPlan,
    }));
  }
}

function changedSincePlan(): FerryError {
  return new FerryError(
    ErrorCode.FEATURES_INVALID,
    'the applied feature definitions changed since the plan was made (another apply?): run apply again to see the new plan',
    { details: { problems: [{ path: '', message: 'the applied definitions changed since the plan' }] } },
  );
}

/** Forgets what materialize did for a view: its chunks, runs and watermark. */
async function deleteMaterializationState(tx: SqlExecutor, view: string): Promise<void> {
  await tx.execute('DELETE FROM ferry_feature_run_chunks WHERE view = $1', [view]);
  await tx.execute('DELETE FROM ferry_feature_runs WHERE view = $1', [view]);
  await tx.execute('DELETE FROM ferry_feature_watermarks WHERE view = $1', [view]);
}

/** Stored objects as a repository definition (a view's `map` function left out, see AppliedRepo). */
function appliedRepoOf(objects: readonly RepoObject[]): AppliedRepo {
  const of = (kind: ObjectKind) => objects.filter((o) => o.kind === kind).map((o) => o.definition);
  const views = of('view').map((d) => {
    const transform = d.transform as JsonObject;
    if (transform.kind !== 'row' || transform.map === undefined) return d;
    // The stored map is {"$function": source}: kept in `objects` (describe shows it), dropped here.
    const { map: _source, ...rest } = transform;
    return { ...d, transform: rest };
  });
  const repo = {
    entities: of('entity'),
    sources: of('source'),
    views: views as unknown as FeatureViewDef[],
    services: of('service'),
    pipelines: of('pipeline'),
  } as unknown as FeatureRepoDef;
  return { repo, objects, hashes: new Map(objects.map((o) => [`${o.kind}:${o.name}`, o.hash])) };
}
