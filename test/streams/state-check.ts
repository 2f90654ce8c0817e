import { expect } from 'vitest';
import type { FeatureRepoDef } from '../../src/features/feature-definitions.js';
import {
  type StoredWindow,
  windowFromStored,
  windowValues,
} from '../../src/features/windows/window-state.js';
import { compileWindowView } from '../../src/features/windows/window-view.js';
import { partitionOf } from '../../src/ports/event-stream.js';
import type { FeatureValue } from '../../src/ports/online-feature-store.js';
import type { SqlClient } from '../../src/ports/sql.js';
import { type RefEvent, referenceValues, referenceWindows } from '../helpers/window-reference.js';
import type { Click } from './helpers.js';

/** The windows a pipeline keeps in SQL for a view: `${entity}|${start}` → events and values. */
async function storedWindows(
  sql: SqlClient,
  pipeline: string,
  repo: FeatureRepoDef,
  viewName: string,
): Promise<Map<string, { end: number; events: number; values: Record<string, FeatureValue> }>> {
  const view = compileWindowView(repo.views.find((v) => v.name === viewName)!);
  const rows = await sql.query<Record<string, unknown>>(
    'SELECT entity_key, window_start, window_end, last_event_ms, events, state FROM ferry_pipeline_state WHERE pipeline = $1 AND view = $2',
    [pipeline, viewName],
  );
  const out = new Map<string, { end: number; events: number; values: Record<string, FeatureValue> }>();
  for (const r of rows) {
    const stored: StoredWindow = {
      start: Number(r.window_start),
      end: Number(r.window_end),
      lastEventMs: Number(r.last_event_ms),
      events: Number(r.events),
      accs: (JSON.parse(r.state as string) as { accs: unknown[] }).accs,
    };
    out.set(`${r.entity_key as string}|${stored.start}`, {
      end: stored.end,
      events: stored.events,
      values: windowValues(view, windowFromStored(view, stored)),
    });
  }
  return out;
}

/**
 * Every window of the view recomputed by brute force from `events` (in the order each partition
 * delivers them: publish order), compared with what the pipeline stored: same windows, same event
 * counts, same values. Returns the number of windows compared and the late event ids.
 */
export async function expectWindowsMatch(
  sql: SqlClient,
  pipeline: string,
  repo: FeatureRepoDef,
  viewName: string,
  events: readonly Click[],
  partitions: number,
): Promise<{ windows: number; late: Set<string> }> {
  const view = compileWindowView(repo.views.find((v) => v.name === viewName)!);
  const def = repo.views.find((v) => v.name === viewName)!;
  const aggregations = def.transform.kind === 'window' ? def.transform.aggregations : [];
  const refEvents: RefEvent[] = events.map((c) => ({
    id: c.id,
    entity: c.user_id,
    partition: partitionOf(c.user_id, partitions),
    eventTimeMs: c.at,
    fields: c as unknown as Record<string, unknown>,
  }));
  const refView = {
    name: view.name,
    window: view.window,
    allowedLatenessMs: view.allowedLatenessMs,
    aggregations,
  };
  const ref = referenceWindows(refView, refEvents);
  const stored = await storedWindows(sql, pipeline, repo, viewName);
  expect([...stored.keys()].sort(), `${viewName}: the windows`).toEqual([...ref.windows.keys()].sort());
  for (const [key, w] of ref.windows) {
    const got = stored.get(key)!;
    expect(got.end, `${viewName} ${key} end`).toBe(w.end);
    expect(got.events, `${viewName} ${key}: events counted`).toBe(w.events.length);
    expect(got.values, `${viewName} ${key}`).toEqual(referenceValues(refView, w.events));
  }
  return { windows: ref.windows.size, late: ref.late };
}
