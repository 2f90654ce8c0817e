import { ErrorCode, FerryError } from '../core/errors.js';
import type { Model } from '../model/model.js';
import type { AliasEvent, AliasMove, ModelSummary, ModelVersion, VersionPage } from '../registry/types.js';
import type { ServingRegistry } from '../serving/http/server-context.js';
import type { ModelSource } from '../serving/model-host.js';

/**
 * The registry as a Lambda function sees it: one version, bundled or downloaded at init, that
 * every followed alias points at. Nothing is written (no database is reachable from a function,
 * and /tmp does not outlive its container), so aliases are fixed: moving one is a redeployment.
 */
export class BundledRegistry implements ServingRegistry, ModelSource {
  private readonly version: ModelVersion;

  constructor(
    version: ModelVersion,
    private readonly model: Model,
    private readonly aliasNames: readonly string[],
  ) {
    this.version = { ...version, aliases: [...aliasNames].sort() };
  }

  private requireModel(name: string): void {
    if (name !== this.version.name)
      throw new FerryError(
        ErrorCode.REGISTRY_NOT_FOUND,
        `no model named "${name}"; this deployment serves ${this.version.name}`,
        { details: { name, knownModels: [this.version.name] } },
      );
  }

  async aliases(name: string): Promise<Record<string, number>> {
    this.requireModel(name);
    return Object.fromEntries(this.aliasNames.map((a) => [a, this.version.version]));
  }

  /** The model opened once at init: every load (warm-up, alias, explicit version) shares it. */
  async load(ref: string): Promise<{ version: ModelVersion; model: Model }> {
    const slash = ref.indexOf('/');
    const at = ref.indexOf('@');
    const cut = slash !== -1 ? slash : at;
    const name = cut === -1 ? ref : ref.slice(0, cut);
    this.requireModel(name);
    const wanted = slash !== -1 ? Number(ref.slice(slash + 1)) : undefined;
    const alias = at !== -1 ? ref.slice(at + 1) : undefined;
    if (
      (wanted !== undefined && wanted !== this.version.version) ||
      (alias !== undefined && !this.aliasNames.includes(alias))
    )
      throw new FerryError(
        ErrorCode.REGISTRY_NOT_FOUND,
        `${ref} is not in this deployment (it serves ${name}/${this.version.version})`,
        {
          details: { ref },
        },
      );
    return { version: this.version, model: this.model };
  }

  async artifactSize(name: string, version: number): Promise<number> {
    await this.load(`${name}/${version}`);
    return this.version.artifactSize;
  }

  async list(name?: string): Promise<ModelVersion[]> {
    if (name !== undefined) this.requireModel(name);
    return [this.version];
  }

  async listModels(): Promise<ModelSummary[]> {
    return [
      {
        name: this.version.name,
        createdAt: this.version.createdAt,
        versionCount: 1,
        latestVersion: this.version.version,
        aliases: Object.fromEntries(this.aliasNames.map((a) => [a, this.version.version])),
      },
    ];
  }

  async listVersions(name: string, page: VersionPage): Promise<{ versions: ModelVersion[]; total: number }> {
    this.requireModel(name);
    return { versions: page.offset === 0 ? [this.version] : [], total: 1 };
  }

  /** Aliases never move in a Lambda deployment: there is no history to show. */
  async aliasEvents(name: string): Promise<{ events: AliasEvent[]; total: number }> {
    this.requireModel(name);
    return { events: [], total: 0 };
  }

  async rollback(): Promise<AliasMove> {
    return this.setAlias();
  }

  async setAlias(): Promise<never> {
    throw new FerryError(
      ErrorCode.HTTP_METHOD_NOT_ALLOWED,
      'aliases are fixed in a Lambda deployment (no registry database): deploy the version instead',
      { details: { allow: [] } },
    );
  }
}
