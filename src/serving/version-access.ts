import { ErrorCode, isFerryError } from '../core/errors.js';
import type { ExperimentArmsView } from '../ports/experiment-routing.js';

/** FERRY_SERVE_VERSIONS parsed: per model, every version (`*`) or a set of them. */
export type ServeVersionsAllowlist = ReadonlyMap<string, '*' | ReadonlySet<number>>;

export interface VersionAccessDeps {
  /** Versions released by configuration (FERRY_SERVE_VERSIONS). */
  allowlist: ServeVersionsAllowlist;
  /** Every alias of a model in the registry (not only the followed ones). */
  aliases: (model: string) => Promise<Record<string, number>>;
  /** The running and paused experiments of a model (the experiment router's view). */
  experiments?: (model: string) => readonly ExperimentArmsView[];
  /** How long a model's registry aliases are reused (ms); default 1000. */
  aliasCacheMs?: number;
  now?: () => number;
}

/**
 * Which explicit versions anonymous clients may ask for (`/v2/models/m/versions/N/…`). A registered
 * version is not released by being registered: it is served by number only when an alias points at
 * it, a running experiment has it as an arm, FERRY_SERVE_VERSIONS lists it, or the caller presents
 * the admin token (checked by the route). Anything else is answered exactly as a version that does
 * not exist, so that a client cannot learn which unreleased versions there are.
 */
export class VersionAccess {
  private readonly aliasCache = new Map<string, { at: number; versions: Promise<Set<number>> }>();

  constructor(private readonly deps: VersionAccessDeps) {}

  async allows(model: string, version: number): Promise<boolean> {
    const listed = this.deps.allowlist.get(model);
    if (listed === '*' || listed?.has(version)) return true;
    for (const e of this.deps.experiments?.(model) ?? []) {
      if (e.status === 'running' && e.arms.some((a) => a.version === version)) return true;
    }
    try {
      return (await this.aliasedVersions(model)).has(version);
    } catch (e) {
      if (isFerryError(e, ErrorCode.REGISTRY_NOT_FOUND)) return false;
      throw e;
    }
  }

  /** The versions some alias of `model` points at, re-read at most once per aliasCacheMs. */
  private aliasedVersions(model: string): Promise<Set<number>> {
    const now = (this.deps.now ?? Date.now)();
    const cached = this.aliasCache.get(model);
    if (cached !== undefined && now - cached.at < (this.deps.aliasCacheMs ?? 1000)) return cached.versions;
    const versions = this.deps.aliases(model).then(
      (aliases) => new Set(Object.values(aliases)),
      // An unknown model has no aliases; any other failure (the database down) must not be cached.
      (e: unknown) => {
        this.aliasCache.delete(model);
        throw e;
      },
    );
    this.aliasCache.set(model, { at: now, versions });
    return versions;
  }
}
