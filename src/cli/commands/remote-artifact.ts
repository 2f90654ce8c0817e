import { ErrorCode, isFerryError } from '../../core/errors.js';
import { remoteV2Artifact } from '../../model/kinds/remote-v2/artifact.js';
import { usageError } from '../output.js';

/** remote-v2: the artifact document (URL, remote model and version) from the command's flags. */
export function remoteArtifactOf(flags: {
  url?: string;
  remoteModel?: string;
  remoteVersion?: string;
  name: string;
}): Uint8Array {
  if (flags.url === undefined) throw usageError('--kind remote-v2 needs --url <base URL of the v2 server>');
  try {
    return remoteV2Artifact({
      url: flags.url,
      model: flags.remoteModel ?? flags.name,
      ...(flags.remoteVersion !== undefined ? { version: flags.remoteVersion } : {}),
    });
  } catch (e) {
    // Here the document is made from the caller's flags: a bad URL or name is a usage mistake, not a stored artifact gone bad.
    if (isFerryError(e, ErrorCode.MODEL_INVALID_ARTIFACT)) throw usageError(e.message);
    throw e;
  }
}
