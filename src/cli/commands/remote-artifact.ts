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
  return remoteV2Artifact({
    url: flags.url,
    model: flags.remoteModel ?? flags.name,
    ...(flags.remoteVersion !== undefined ? { version: flags.remoteVersion } : {}),
  });
}
