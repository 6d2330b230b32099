import { SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX } from './frames.js';
import { failure, type EncodeResult, type Failure } from './protocol-error.js';

/**
 * Version negotiation and the browser's token transport, both in Sec-WebSocket-Protocol.
 *
 * A browser's WebSocket cannot set an Authorization header, and a token in the URL ends up in
 * proxy and server logs; the one header a page may set is the subprotocol list (the approach
 * of Kubernetes' `base64url.bearer.authorization.k8s.io.` entry). A compact JWT is already
 * made of base64url segments joined by dots, all RFC 7230 token characters, so it travels
 * verbatim after the prefix. The server answers with `sandgate.v1` only: the token entry is
 * never echoed back.
 */

/** Characters of a compact JWS/JWT (RFC 7515 §7.1): base64url segments joined by dots. */
const COMPACT_TOKEN = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)*$/;
const VERSION_ENTRY = /^sandgate\.v[0-9]{1,4}$/;

/** The `protocols` argument of `new WebSocket(url, protocols)`: the version, then the token. */
export function clientSubprotocols(token?: string): EncodeResult<readonly string[]> {
  if (token === undefined) return { ok: true, payload: [SUBPROTOCOL] };
  if (!COMPACT_TOKEN.test(token)) {
    return failure('SG_AUTH_MALFORMED', 'the token is not a compact JWT (base64url segments joined by dots)');
  }
  return { ok: true, payload: [SUBPROTOCOL, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`] };
}

/** The entries of a Sec-WebSocket-Protocol request header (comma-separated, RFC 6455 §11.3.4). */
export function parseSubprotocolHeader(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}

export type SubprotocolSelection =
  | {
      readonly ok: true;
      /** The only value to put in the response's Sec-WebSocket-Protocol. */
      readonly protocol: typeof SUBPROTOCOL;
      /** The bearer token from a `sandgate.token.` entry; undefined when none was offered. */
      readonly token: string | undefined;
    }
  | Failure;

/**
 * Chooses the protocol version and extracts the token entry from the offered subprotocols.
 * Refuses (before the upgrade, with the code's HTTP status) when no offered version is spoken
 * here, or when the token entry is repeated or not a compact token. Unrelated entries are
 * ignored. Messages never contain the token.
 */
export function selectSubprotocol(offered: Iterable<string>): SubprotocolSelection {
  const tokens: string[] = [];
  const versions: string[] = [];
  for (const entry of offered) {
    if (entry.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) tokens.push(entry.slice(TOKEN_SUBPROTOCOL_PREFIX.length));
    else if (VERSION_ENTRY.test(entry)) versions.push(entry);
  }
  if (!versions.includes(SUBPROTOCOL)) {
    const seen = versions.length === 0 ? 'none' : versions.join(', ');
    return failure('SG_PROTO_VERSION', `this gateway speaks ${SUBPROTOCOL}; offered versions: ${seen}`);
  }
  if (tokens.length > 1) return failure('SG_AUTH_MALFORMED', `${tokens.length} ${TOKEN_SUBPROTOCOL_PREFIX} entries were offered; send one token`);
  const token = tokens[0];
  if (token !== undefined && !COMPACT_TOKEN.test(token)) {
    return failure('SG_AUTH_MALFORMED', `the ${TOKEN_SUBPROTOCOL_PREFIX} entry does not hold a compact JWT`);
  }
  return { ok: true, protocol: SUBPROTOCOL, token };
}
