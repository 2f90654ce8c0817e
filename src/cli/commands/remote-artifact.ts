import { usageError } from '../output.js';

/** remote-v2: the artifact document from the command's flags (filled in when the kind lands). */
export function remoteArtifactOf(flags: { url?: string; remoteModel?: string; remoteVersion?: string; name: string }): Uint8Array {
  if (flags.url === undefined) throw usageError('--kind remote-v2 needs --url <base URL of the v2 server>');
  throw usageError('remote-v2 is not available in this build');
}
