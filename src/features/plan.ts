import { type JsonObject, type ObjectKind, objectKey, type RepoObject } from './repo-objects.js';

/**
 * What `ferry features apply` would do: the objects added, changed (with the fields that differ)
 * and removed, and what each change invalidates. Stored values are computed data: when what they
 * were computed from changes, they are wrong, and apply deletes them (the view's offline values,
 * its online rows and its materialization progress, so the next materialize recomputes them):
 *
 * - a removed view: everything it stored;
 * - a view whose entities, source, schema or transform changed: everything it stored;
 * - a view no longer `online`: its online rows;
 * - a source whose data changed (kind, file, format, table, query, database, stream, event-time
 *   field, batch source): everything the views reading it stored;
 * - an entity whose join keys changed: everything the views keyed by it stored.
 *
 * A changed TTL, description or service invalidates nothing: the TTL is applied at read time.
 */
export type ChangeAction = 'add' | 'change' | 'remove';

export interface ObjectChange {
  readonly kind: ObjectKind;
  readonly name: string;
  readonly action: ChangeAction;
  /** For a change: the top-level fields that differ, sorted. */
  readonly fields: readonly string[];
}

export interface Invalidation {
  readonly view: string;
  /** Offline values and materialization progress are deleted. */
  readonly offline: boolean;
  /** Online rows are deleted. */
  readonly online: boolean;
  /** Why, one entry per cause. */
  readonly reasons: readonly string[];
}

export interface ApplyPlan {
  readonly changes: readonly ObjectChange[];
  readonly invalidations: readonly Invalidation[];
  /** Objects already applied as they are. */
  readonly unchanged: number;
}

const VIEW_DATA_FIELDS = ['entities', 'source', 'schema', 'transform'];
const SOURCE_DATA_FIELDS = [
  'kind',
  'path',
  'format',
  'table',
  'query',
  'url',
  'stream',
  'timestampField',
  'batchSource',
];
const ENTITY_DATA_FIELDS = ['joinKeys'];

/** The top-level fields whose canonical JSON differs between two definitions. */
function changedFields(a: JsonObject, b: JsonObject): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
}

function refs(o: RepoObject, field: string): string[] {
  const v = o.definition[field];
  return Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
}

export function planApply(current: readonly RepoObject[], applied: readonly RepoObject[]): ApplyPlan {
  const before = new Map(applied.map((o) => [objectKey(o), o]));
  const after = new Map(current.map((o) => [objectKey(o), o]));
  const changes: ObjectChange[] = [];
  let unchanged = 0;
  const invalid = new Map<string, { offline: boolean; online: boolean; reasons: string[] }>();
  const invalidate = (view: string, offline: boolean, reason: string) => {
    const entry = invalid.get(view) ?? { offline: false, online: false, reasons: [] };
    entry.offline ||= offline;
    entry.online = true; // whatever invalidates offline values invalidates online rows too
    entry.reasons.push(reason);
    invalid.set(view, entry);
  };
  const appliedViews = applied.filter((o) => o.kind === 'view');

  for (const o of current) {
    const old = before.get(objectKey(o));
    if (old === undefined) changes.push({ kind: o.kind, name: o.name, action: 'add', fields: [] });
    else if (old.hash === o.hash) unchanged++;
    else {
      const fields = changedFields(old.definition, o.definition);
      changes.push({ kind: o.kind, name: o.name, action: 'change', fields });
      const data = (list: readonly string[]) => fields.filter((f) => list.includes(f));
      if (o.kind === 'view') {
        const hit = data(VIEW_DATA_FIELDS);
        if (hit.length > 0) invalidate(o.name, true, `its ${hit.join(', ')} changed`);
        else if (old.definition.online !== false && o.definition.online === false) {
          invalidate(o.name, false, 'it is no longer online');
        }
      } else if (o.kind === 'source') {
        const hit = data(SOURCE_DATA_FIELDS);
        if (hit.length > 0) {
          for (const v of appliedViews.filter((v) => refs(v, 'source').includes(o.name))) {
            invalidate(v.name, true, `its source "${o.name}" changed (${hit.join(', ')})`);
          }
        }
      } else if (o.kind === 'entity' && data(ENTITY_DATA_FIELDS).length > 0) {
        for (const v of appliedViews.filter((v) => refs(v, 'entities').includes(o.name))) {
          invalidate(v.name, true, `the join keys of its entity "${o.name}" changed`);
        }
      }
    }
  }
  for (const o of applied) {
    if (after.has(objectKey(o))) continue;
    changes.push({ kind: o.kind, name: o.name, action: 'remove', fields: [] });
    if (o.kind === 'view') invalidate(o.name, true, 'it is removed');
  }
  const invalidations = [...invalid.entries()]
    .map(([view, e]) => ({ view, offline: e.offline, online: e.online, reasons: e.reasons }))
    .sort((a, b) => a.view.localeCompare(b.view));
  return { changes, invalidations, unchanged };
}

export function isEmptyPlan(plan: ApplyPlan): boolean {
  return plan.changes.length === 0;
}

/** Whether applying the plan deletes anything (removed objects or invalidated data). */
export function isDestructive(plan: ApplyPlan): boolean {
  return plan.invalidations.length > 0 || plan.changes.some((c) => c.action === 'remove');
}

/** The plan as the CLI prints it, one line per change and per invalidation. */
export function formatPlan(plan: ApplyPlan): string {
  if (isEmptyPlan(plan))
    return `no changes (${plan.unchanged} object${plan.unchanged === 1 ? '' : 's'} up to date)\n`;
  const sign = { add: '+', change: '~', remove: '-' } as const;
  const lines = plan.changes.map(
    (c) =>
      `  ${sign[c.action]} ${c.kind} ${c.name}${c.action === 'change' ? ` (${c.fields.join(', ')})` : ''}`,
  );
  const counts = (a: ChangeAction) => plan.changes.filter((c) => c.action === a).length;
  const out = [
    `plan: ${counts('add')} to add, ${counts('change')} to change, ${counts('remove')} to remove, ${plan.unchanged} unchanged`,
    ...lines,
  ];
  if (plan.invalidations.length > 0) {
    out.push('invalidated (deleted on apply, recomputed by the next materialize):');
    for (const i of plan.invalidations) {
      const what = i.offline ? 'offline values, online rows, materialization progress' : 'online rows';
      out.push(`  ! view ${i.view}: ${what} (${i.reasons.join('; ')})`);
    }
  }
  return `${out.join('\n')}\n`;
}
