import type { Model } from '../../model.js';
import { checkOverride } from '../../signature-override.js';
import { isBatchable, type NamedTensors, rowCount, type Signature } from '../../tensor.js';
import type { ModelKind } from '../model-kind.js';
import { parseRemoteV2Artifact, type RemoteV2Artifact } from './artifact.js';
import { RemoteEndpoint } from './remote-endpoint.js';
import { inferRequestBody, metadataPlatform, readInferResponse, signatureFromMetadata } from './wire.js';

const REMOTE_V2_KIND = 'remote-v2';

/** A model served by another Open Inference Protocol v2 server, used through its HTTP API. */
class RemoteV2Model implements Model {
  readonly kind = REMOTE_V2_KIND;
  /** A remote's metadata does not name classes; its outputs carry whatever it answers. */
  readonly classes: readonly string[] = [];
  private readonly batchable: boolean;

  constructor(
    readonly signature: Signature,
    private readonly endpoint: RemoteEndpoint,
  ) {
    this.batchable = isBatchable(signature);
  }

  infer(inputs: NamedTensors): Promise<NamedTensors> {
    const rows = this.batchable ? rowCount(inputs) : undefined;
    return this.endpoint.infer(inferRequestBody(inputs, this.signature), (body) =>
      readInferResponse(body, this.signature, rows, this.endpoint.what),
    );
  }

  async close(): Promise<void> {
    this.endpoint.close();
  }
}

async function remoteSignature(
  endpoint: RemoteEndpoint,
): Promise<{ signature: Signature; platform?: string }> {
  const body = await endpoint.metadata();
  const platform = metadataPlatform(body);
  return {
    signature: signatureFromMetadata(body, endpoint.what),
    ...(platform !== undefined ? { platform } : {}),
  };
}

function details(artifact: RemoteV2Artifact, platform: string | undefined): Record<string, unknown> {
  return {
    url: artifact.url,
    remoteModel: artifact.model,
    ...(artifact.version !== undefined ? { remoteVersion: artifact.version } : {}),
    ...(platform !== undefined ? { platform } : {}),
    ...(artifact.timeoutMs !== undefined ? { timeoutMs: artifact.timeoutMs } : {}),
    breakerFailures: artifact.breakerFailures,
    breakerResetMs: artifact.breakerResetMs,
  };
}

/**
 * `remote-v2`: the artifact says where the model is (remoteV2Artifact); registration reads its
 * signature from the remote's metadata; serving forwards each inference to it.
 */
export const remoteV2Kind: ModelKind = {
  kind: REMOTE_V2_KIND,
  async inspect(bytes, ctx, override) {
    const artifact = parseRemoteV2Artifact(bytes);
    const endpoint = new RemoteEndpoint(artifact, ctx.callTimeoutMs);
    const remote = await remoteSignature(endpoint).finally(() => endpoint.close());
    if (override !== undefined) checkOverride(override, remote.signature, 'the remote model');
    const signature = override ?? remote.signature;
    return { signature, details: details(artifact, remote.platform) };
  },
  async open(bytes, ctx) {
    const artifact = parseRemoteV2Artifact(bytes);
    const endpoint = new RemoteEndpoint(artifact, ctx.callTimeoutMs);
    // The signature stored at registration: opening needs no network, so a version loads (and its
    // breaker answers fast) while the remote is down. Without one, the remote is asked.
    const signature = ctx.signature ?? (await remoteSignature(endpoint)).signature;
    return new RemoteV2Model(signature, endpoint);
  },
  async verify(bytes) {
    parseRemoteV2Artifact(bytes);
  },
};
