import { parseResourcePath } from '#src/protocol/kbs/index.js';
import { GuestKbsError } from './errors.js';

/**
 * Parses a guest-components resource URI `kbs:///<repo>/<type>/<tag>` (an authority naming the
 * KBS, `kbs://host:port/…`, is accepted and ignored: the configured KBS is used) or a bare
 * `<repo>/<type>/<tag>` path; returns the path.
 */
export function parseResourceUri(uri: string): string {
  let path = uri;
  if (uri.startsWith('kbs://')) {
    const rest = uri.slice('kbs://'.length);
    const slash = rest.indexOf('/');
    if (slash < 0)
      throw new GuestKbsError(
        'invalid_argument',
        'ERR_GUEST_KBS_URI',
        `resource uri ${JSON.stringify(uri.slice(0, 200))}: expected kbs:///<repository>/<type>/<tag>`,
      );
    path = rest.slice(slash + 1);
  }
  try {
    parseResourcePath(path);
  } catch (err) {
    throw new GuestKbsError(
      'invalid_argument',
      'ERR_GUEST_KBS_URI',
      `resource uri ${JSON.stringify(uri.slice(0, 200))}: expected kbs:///<repository>/<type>/<tag> with segments of [A-Za-z0-9._-]`,
      { cause: err },
    );
  }
  return path;
}
