import { ATTACH_SUBPROTOCOL, RESUME_SUBPROTOCOL, SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX, type SessionHint } from './frames.js';
import { failure, type EncodeResult, type Failure } from './protocol-error.js';

/**
 * Version negotiation, the browser's token transport and the resume hint, all in
 * Sec-WebSocket-Protocol.
 *
 * A browser's WebSocket cannot set an Authorization header, and a token in the URL ends up in
 * proxy and server logs; the one header a page may set is the subprotocol list (the approach
 * of Kubernetes' `base64url.bearer.authorization.k8s.io.` entry). A compact JWT is already
 * made of base64url segments joined by dots, all RFC 7230 token characters, so it travels
 * verbatim after the prefix. The server answers with `sandgate.v1` only: neither the token
 * entry nor the resume hint is ever echoed back.
 *
 * The hints (`sandgate.resume`, `sandgate.attach`) tell admission, which runs before the first
 * frame can be read, that this connection will resume or watch a session rather than open
 * one: it is then not counted against the session quotas, and the gateway accepts nothing but
 * a valid `resume` (or `attach`) on it (docs/protocol.md, "Resume" and "Viewers").
 */

/** Characters of a compact JWS/JWT (RFC 7515 §7.1): base64url segments joined by dots. */
const COMPACT_TOKEN = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)*$/;
const VERSION_ENTRY = /^sandgate\.v[0-9]{1,4}$/;

export interface ClientSubprotocolOptions {
  /** Offer a hint: the connection will send `resume` (a reconnection) or `attach` (a viewer) first. */
  readonly hint?: SessionHint;
}

const HINT_ENTRIES: Readonly<Record<SessionHint, string>> = { resume: RESUME_SUBPROTOCOL, attach: ATTACH_SUBPROTOCOL };

/** The `protocols` argument of `new WebSocket(url, protocols)`: the version, the hint, then the token. */
export function clientSubprotocols(token?: string, options: ClientSubprotocolOptions = {}): EncodeResult<readonly string[]> {
  const entries: string[] = options.hint === undefined ? [SUBPROTOCOL] : [SUBPROTOCOL, HINT_ENTRIES[options.hint]];
  if (token === undefined) return { ok: true, payload: entries };
  if (!COMPACT_TOKEN.test(token)) {
    return failure('SG_AUTH_MALFORMED', 'the token is not a compact JWT (base64url segments joined by dots)');
  }
  return { ok: true, payload: [...entries, `${TOKEN_SUBPROTOCOL_PREFIX}${token}`] };
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
      /** The hint offered (`sandgate.resume` or `sandgate.attach`), if any. */
      readonly hint: SessionHint | undefined;
    }
  | Failure;

/**
 * Chooses the protocol version, extracts the token entry and notes the hint from the offered
 * subprotocols. Refuses (before the upgrade, with the code's HTTP status) when no offered
 * version is spoken here, when the token entry is repeated or not a compact token, or when
 * both hints are offered.
 * Unrelated entries are ignored. Messages never contain the token.
 */
export function selectSubprotocol(offered: Iterable<string>): SubprotocolSelection {
  const tokens: string[] = [];
  const versions: string[] = [];
  const hints = new Set<SessionHint>();
  for (const entry of offered) {
    if (entry.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) tokens.push(entry.slice(TOKEN_SUBPROTOCOL_PREFIX.length));
    else if (VERSION_ENTRY.test(entry)) versions.push(entry);
    else if (entry === RESUME_SUBPROTOCOL) hints.add('resume');
    else if (entry === ATTACH_SUBPROTOCOL) hints.add('attach');
  }
  if (!versions.includes(SUBPROTOCOL)) {
    const seen = versions.length === 0 ? 'none' : versions.join(', ');
    return failure('SG_PROTO_VERSION', `this gateway speaks ${SUBPROTOCOL}; offered versions: ${seen}`);
  }
  if (tokens.length > 1) return failure('SG_AUTH_MALFORMED', `${tokens.length} ${TOKEN_SUBPROTOCOL_PREFIX} entries were offered; send one token`);
  if (hints.size > 1) return failure('SG_HANDSHAKE_INVALID', `both ${RESUME_SUBPROTOCOL} and ${ATTACH_SUBPROTOCOL} were offered; a connection does one of them`);
  const token = tokens[0];
  if (token !== undefined && !COMPACT_TOKEN.test(token)) {
    return failure('SG_AUTH_MALFORMED', `the ${TOKEN_SUBPROTOCOL_PREFIX} entry does not hold a compact JWT`);
  }
  const [hint] = hints;
  return { ok: true, protocol: SUBPROTOCOL, token, hint };
}
