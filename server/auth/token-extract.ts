import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TOKEN_SUBPROTOCOL_PREFIX } from '../../client-sdk/src/protocol/frames.js';
import { parseSubprotocolHeader } from '../../client-sdk/src/protocol/subprotocol.js';
import { AuthError } from './auth-error.js';

/**
 * Browsers cannot set headers on a WebSocket, but they can offer subprotocols, so a browser
 * sends `Sec-WebSocket-Protocol: sandgate.v1, sandgate.token.<jwt>` (the protocol module owns
 * the prefix, docs/protocol.md). The server must answer with `sandgate.v1`, never echo the
 * token entry.
 */
export { TOKEN_SUBPROTOCOL_PREFIX };

/** Query parameters that carry tokens elsewhere (RFC 6750 §2.3 `access_token`, and habits). */
const TOKEN_QUERY_PARAMETERS = ['token', 'access_token', 'jwt', 'auth', 'authorization', 'bearer'];
/** A JWT-looking value: `eyJ` is base64url for `{"`, the start of every JOSE header. */
const JWT_LIKE = /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

export interface ExtractedToken {
  readonly token: string;
  readonly transport: 'header' | 'subprotocol';
}

/**
 * The bearer token of an upgrade request, from `Authorization: Bearer <jwt>` (programs,
 * RFC 6750 §2.1) or the `sandgate.token.<jwt>` subprotocol (browsers). Refused:
 *  - a token in the URL query (SG_AUTH_TOKEN_IN_URL): URLs land in proxy and access logs and
 *    browser history (RFC 6750 §5.3), so it is refused loudly rather than ignored;
 *  - two tokens, or both transports at once (SG_AUTH_MALFORMED): which one would count is
 *    exactly the ambiguity a confused deputy needs;
 *  - another Authorization scheme (SG_AUTH_MALFORMED); none at all (SG_AUTH_MISSING).
 * Only the transport is checked here; the token itself is checked by TokenVerifier.
 */
export function extractToken(req: IncomingMessage): ExtractedToken | AuthError {
  const inUrl = tokenInQuery(req.url ?? '');
  if (inUrl !== undefined) {
    return new AuthError(
      'SG_AUTH_TOKEN_IN_URL',
      'A token was sent in the URL query, where logs keep it: send it as "Authorization: Bearer" or the sandgate.token subprotocol, and revoke this one.',
      { parameter: inUrl },
    );
  }
  const fromHeader = bearerFromHeader(req);
  if (fromHeader instanceof AuthError) return fromHeader;
  const fromProtocol = tokenFromSubprotocol(req.headers['sec-websocket-protocol']);
  if (fromProtocol instanceof AuthError) return fromProtocol;
  if (fromHeader !== undefined && fromProtocol !== undefined) {
    return new AuthError('SG_AUTH_MALFORMED', 'A token was sent both in Authorization and as a subprotocol: send one.', { transport: 'both' });
  }
  if (fromHeader !== undefined) return { token: fromHeader, transport: 'header' };
  if (fromProtocol !== undefined) return { token: fromProtocol, transport: 'subprotocol' };
  return new AuthError('SG_AUTH_MISSING', 'No token: send "Authorization: Bearer <jwt>" or the subprotocol sandgate.token.<jwt>.');
}

/** The name of the query parameter that carries a token, if any (undefined when clean). */
function tokenInQuery(url: string): string | undefined {
  const queryStart = url.indexOf('?');
  if (queryStart < 0) return undefined;
  const params = new URLSearchParams(url.slice(queryStart + 1).split('#', 1)[0]);
  for (const [name, value] of params) {
    const known = TOKEN_QUERY_PARAMETERS.find((parameter) => parameter === name.toLowerCase());
    if (known !== undefined) return known;
    // Named from our list only: the parameter name is the client's and might be the token.
    if (looksLikeJwt(name) || looksLikeJwt(value)) return '(a JWT-like value)';
  }
  return undefined;
}

function looksLikeJwt(text: string): boolean {
  return /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\./.test(text);
}

function bearerFromHeader(req: IncomingMessage): string | undefined | AuthError {
  // Node keeps only the first of duplicate Authorization headers (http.IncomingMessage
  // docs, "Duplicates of authorization are discarded"); rawHeaders shows them all.
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]?.toLowerCase() === 'authorization') count += 1;
  }
  if (count > 1) return new AuthError('SG_AUTH_MALFORMED', 'Several Authorization headers were sent: send one.', { transport: 'header' });
  const value = req.headers.authorization;
  if (value === undefined) return undefined;
  // RFC 7235 §2.1: the scheme is case-insensitive; RFC 6750 §2.1: one space, then the token.
  const match = /^Bearer +(\S+) *$/i.exec(value);
  if (match?.[1] === undefined) {
    return new AuthError('SG_AUTH_MALFORMED', 'The Authorization header is not "Bearer <jwt>".', { transport: 'header' });
  }
  return match[1];
}

function tokenFromSubprotocol(header: string | undefined): string | undefined | AuthError {
  // Node joins repeated Sec-WebSocket-Protocol headers with ", " (RFC 6455 §4.1 allows both).
  const tokens = parseSubprotocolHeader(header)
    .filter((entry) => entry.startsWith(TOKEN_SUBPROTOCOL_PREFIX))
    .map((entry) => entry.slice(TOKEN_SUBPROTOCOL_PREFIX.length));
  if (tokens.length > 1) {
    return new AuthError('SG_AUTH_MALFORMED', 'Several sandgate.token subprotocols were offered: offer one.', { transport: 'subprotocol' });
  }
  const [token] = tokens;
  if (token === '') return new AuthError('SG_AUTH_MALFORMED', 'The sandgate.token subprotocol is empty.', { transport: 'subprotocol' });
  return token;
}

/**
 * A loggable stand-in for a token: its length and a short SHA-256 fingerprint, so two log
 * lines about one token can be matched without the token itself ever being written.
 */
export function redactToken(token: string): string {
  const fingerprint = createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 12);
  return `[token redacted: ${token.length} chars, sha256:${fingerprint}]`;
}

/** `text` with every JWT-looking substring replaced by `redactToken` (for URLs, headers, messages). */
export function redactTokens(text: string): string {
  return text.replace(JWT_LIKE, (token) => redactToken(token));
}
