import { ErrorCode, FerryError } from '../core/errors.js';
import type { FeatureRepoDef, FeatureType, FeatureViewDef } from './feature-definitions.js';

/** One feature of one view, as a request names it (`view:feature`). */
export interface FeatureRef {
  readonly view: string;
  readonly feature: string;
  readonly type: FeatureType;
}

export function refName(ref: Pick<FeatureRef, 'view' | 'feature'>): string {
  return `${ref.view}:${ref.feature}`;
}

/**
 * The features a request asks for: a feature service's, or a list of `view:feature` (or `view`,
 * every feature of it), checked against the applied repository. Unknown names are
 * FERRY_FEATURES_NOT_FOUND, with what is known in `details` (services, views, features).
 */
export function resolveFeatures(
  repo: FeatureRepoDef,
  req: { readonly service?: string; readonly features?: readonly string[] },
): FeatureRef[] {
  let names: readonly string[];
  if (req.service !== undefined) {
    const services = repo.services ?? [];
    const service = services.find((s) => s.name === req.service);
    if (service === undefined) {
      const known = services.map((s) => s.name);
      throw new FerryError(
        ErrorCode.FEATURES_NOT_FOUND,
        `unknown feature service "${req.service}"; known: ${known.join(', ') || 'none'}`,
        { details: { service: req.service, known } },
      );
    }
    names = service.features;
  } else names = req.features ?? [];
  if (names.length === 0) {
    throw new FerryError(
      ErrorCode.FEATURES_INVALID_REQUEST,
      'name a feature service or at least one feature (view:feature)',
    );
  }
  const out: FeatureRef[] = [];
  const unknown: string[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    const [viewName = '', feature, ...rest] = name.split(':');
    const view = rest.length === 0 ? repo.views.find((v) => v.name === viewName) : undefined;
    const picked =
      view === undefined
        ? undefined
        : feature === undefined
          ? view.schema
          : view.schema.filter((f) => f.name === feature);
    if (view === undefined || picked === undefined || picked.length === 0) {
      unknown.push(name);
      continue;
    }
    for (const f of picked) {
      const ref = { view: view.name, feature: f.name, type: f.type };
      if (seen.has(refName(ref))) continue;
      seen.add(refName(ref));
      out.push(ref);
    }
  }
  if (unknown.length > 0) {
    const known = repo.views.flatMap((v) => v.schema.map((f) => `${v.name}:${f.name}`));
    throw new FerryError(
      ErrorCode.FEATURES_NOT_FOUND,
      `unknown feature${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')}; known: ${known.join(', ') || 'none'}`,
      { details: { unknown, known, views: repo.views.map((v) => v.name) } },
    );
  }
  return out;
}

/** The refs grouped by view, in the order each view first appears. */
export function byView(
  repo: FeatureRepoDef,
  refs: readonly FeatureRef[],
): Array<{ view: FeatureViewDef; refs: FeatureRef[] }> {
  const groups = new Map<string, FeatureRef[]>();
  for (const ref of refs) {
    const list = groups.get(ref.view) ?? [];
    list.push(ref);
    groups.set(ref.view, list);
  }
  return [...groups].map(([name, list]) => ({ view: repo.views.find((v) => v.name === name)!, refs: list }));
}
