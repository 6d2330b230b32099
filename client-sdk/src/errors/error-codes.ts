/**
 * The one registry of sandgate error codes: every failure that reaches a user, with how it
 * travels — HTTP status (refusals before the WebSocket upgrade), WebSocket close code
 * (4000–4999, after the upgrade) and process exit code (CLI and launcher).
 *
 * Lives in the client SDK because the SDK decodes ERROR frames and close codes too; the
 * server's error classes (server/errors) are built from this table. docs/errors.md lists
 * every code, kept in sync by test/contract/error-registry.test.ts.
 */

export interface ErrorCodeInfo {
  /** HTTP status when refused before the upgrade. */
  readonly httpStatus: number;
  /** WebSocket close code after the upgrade (4000–4999), or 1008/1009/1011 where standard. */
  readonly wsCloseCode: number;
  /** Exit code of the CLI / launcher when this ends a process. */
  readonly exitCode: number;
  /** One sentence: what happened. */
  readonly summary: string;
}

function code(httpStatus: number, wsCloseCode: number, exitCode: number, summary: string): ErrorCodeInfo {
  return { httpStatus, wsCloseCode, exitCode, summary };
}

export const ERROR_CODES = {
  // --- configuration and set-up (CLI exit codes 64–79, sysexits-like) ---
  SG_CONFIG_INVALID: code(500, 4500, 78, 'A configuration value or command-line option is invalid.'),
  SG_USAGE: code(400, 4400, 64, 'The command line could not be understood.'),
  SG_HOST_UNSUPPORTED: code(503, 4503, 69, 'This host cannot run sandboxes (not root, or a kernel feature is missing).'),
  SG_NATIVE_LOAD: code(500, 4500, 70, 'The native addon or launcher could not be found or loaded.'),

  // --- sandbox spec (validated before anything is created) ---
  SG_SPEC_INVALID: code(400, 4400, 65, 'The sandbox spec is invalid (unknown field, wrong type, relative path, out-of-range limit).'),
  SG_SPEC_FORBIDDEN: code(403, 4403, 65, 'The sandbox spec asks for something the policy never allows (e.g. binding / or /proc writable).'),

  // --- sandbox runtime ---
  SG_CGROUP: code(500, 4500, 71, 'Creating, limiting or removing the sandbox cgroup failed.'),
  SG_SANDBOX_SPAWN: code(500, 4500, 71, 'The sandbox launcher could not be started.'),
  SG_LAUNCH_PLAN: code(500, 4500, 200, 'The launcher refused its launch plan.'),
  SG_LAUNCH_CLONE: code(500, 4500, 201, 'The launcher could not clone the sandbox namespaces.'),
  SG_LAUNCH_USERNS: code(500, 4500, 202, 'The launcher could not set up the user namespace (uid lease, uid/gid map).'),
  SG_LAUNCH_MOUNTS: code(500, 4500, 203, 'The launcher could not build the sandbox root (tmpfs, binds, pivot_root).'),
  SG_LAUNCH_PROC_DEV: code(500, 4500, 204, 'The launcher could not set up /proc or /dev.'),
  SG_LAUNCH_NET: code(500, 4500, 205, 'The launcher could not set the hostname or bring loopback up.'),
  SG_LAUNCH_RLIMITS: code(500, 4500, 206, 'The launcher could not apply the rlimits.'),
  SG_LAUNCH_CGROUP: code(500, 4500, 207, 'The launcher could not join the sandbox cgroup or make its cgroup namespace.'),
  SG_LAUNCH_CAPS: code(500, 4500, 208, 'The launcher could not drop capabilities or set no_new_privs.'),
  SG_LAUNCH_FDS_ENV: code(500, 4500, 209, 'The launcher could not close inherited fds, set the environment or the working directory.'),
  SG_LAUNCH_SECCOMP: code(500, 4500, 210, 'The launcher could not load the seccomp filter.'),
  SG_LAUNCH_EXEC: code(500, 4500, 211, 'The launcher could not exec the sandbox init.'),
  SG_LAUNCH_SUPERVISOR: code(500, 4500, 212, 'The launcher supervisor failed (pipes, signals, wait) or its caller went away.'),

  // --- authentication and origin (refused before the upgrade; CLI exit 77 = EX_NOPERM) ---
  SG_AUTH_MISSING: code(401, 4401, 77, 'No token was presented (Authorization: Bearer, or the sandgate.token.<jwt> subprotocol).'),
  SG_AUTH_MALFORMED: code(401, 4401, 77, 'The token or its transport is malformed (not a compact JWT, over maxTokenBytes, bad base64url or JSON, two tokens).'),
  SG_AUTH_TOKEN_IN_URL: code(400, 4400, 64, 'A token was put in the URL query, where proxies and logs keep it; send it in a header or subprotocol.'),
  SG_AUTH_BAD_SIGNATURE: code(401, 4401, 77, 'The token signature does not verify with the key its kid names.'),
  SG_AUTH_ALGORITHM: code(401, 4401, 77, 'The token alg is not the one algorithm pinned for its key (alg none, algorithm confusion).'),
  SG_AUTH_EXPIRED: code(401, 4401, 77, 'The token expired (exp, with the configured clock tolerance).'),
  SG_AUTH_NOT_YET_VALID: code(401, 4401, 77, 'The token is not valid yet (nbf or iat in the future beyond the clock tolerance).'),
  SG_AUTH_ISSUER: code(401, 4401, 77, 'The token iss is missing or not one of the configured issuers.'),
  SG_AUTH_AUDIENCE: code(401, 4401, 77, 'The token aud is missing or names none of the configured audiences.'),
  SG_AUTH_LIFETIME_TOO_LONG: code(401, 4401, 77, 'The token lives longer than auth.maxLifetimeMs (exp - iat, or exp - now).'),
  SG_AUTH_CLAIMS: code(401, 4401, 77, 'A required claim is missing or invalid (exp, sub, tenant, scope, limits, jti).'),
  SG_AUTH_UNKNOWN_KEY: code(401, 4401, 77, 'The token kid names no configured key (or it has no kid and several keys are configured).'),
  SG_AUTH_FORBIDDEN: code(403, 4403, 77, 'The token is valid but does not grant this: a scope it lacks, or another tenant.'),
  SG_ORIGIN_FORBIDDEN: code(403, 4403, 77, 'The browser Origin is not in the allow-list (cross-site WebSocket hijacking defence).'),

  // --- gateway: HTTP, handshake and admission (before the upgrade; CLI exit 75 = EX_TEMPFAIL: retry) ---
  SG_NOT_FOUND: code(404, 4404, 64, 'No such HTTP route or WebSocket path (sessions are at the configured path, default /v1/sessions).'),
  SG_METHOD_NOT_ALLOWED: code(405, 4405, 64, 'The HTTP method is not allowed on this route (health, readiness and metrics answer GET and HEAD).'),
  SG_UPGRADE_REQUIRED: code(426, 4426, 64, 'The sessions path only accepts a WebSocket upgrade with Sec-WebSocket-Version 13.'),
  SG_HANDSHAKE_INVALID: code(400, 4400, 76, 'The WebSocket upgrade request is malformed (method, Upgrade, Sec-WebSocket-Key or Sec-WebSocket-Protocol header).'),
  SG_HANDSHAKE_TIMEOUT: code(408, 4408, 75, 'The upgrade was not completed within handshakeTimeoutMs of the connection (slow or stalled client).'),
  SG_OVERLOADED: code(503, 4503, 75, 'The gateway is at a limit (maxConnections, maxHandshakesInFlight, maxSessions, maxSpawnsInFlight or host pressure); retry after Retry-After seconds.'),
  SG_SHUTTING_DOWN: code(503, 4503, 75, 'The gateway is draining for a shutdown and admits no new session; retry (another node) after Retry-After seconds.'),
  SG_TENANT_QUOTA: code(429, 4429, 75, 'The tenant has maxSessionsPerTenant sessions open across the cluster; retry after one ends.'),
  SG_USER_QUOTA: code(429, 4429, 75, 'The user has maxSessionsPerUser sessions open across the cluster (or the token limits.sessions); end one first.'),
  SG_QUOTA_UNAVAILABLE: code(503, 4503, 75, 'The quota store (Redis) could not be reached, so no session could be counted and none was admitted.'),

  // --- wire protocol (after the upgrade; docs/protocol.md; CLI exit 76 = EX_PROTOCOL) ---
  SG_PROTO_VERSION: code(400, 4400, 76, 'No protocol version both sides speak was offered in Sec-WebSocket-Protocol (sandgate.v1).'),
  SG_PROTO_MALFORMED: code(400, 4400, 76, 'A frame could not be parsed: invalid UTF-8 or JSON, not a JSON object, no type, or a binary frame shorter than its header.'),
  SG_PROTO_UNKNOWN_TYPE: code(400, 4400, 76, 'A frame has a type or channel this direction of the protocol does not define.'),
  SG_PROTO_FIELD_INVALID: code(400, 4400, 76, 'A frame field is missing, unknown, of the wrong type or outside its bounds.'),
  SG_PROTO_TOO_LARGE: code(413, 1009, 76, 'A frame is larger than maxControlFrameBytes or maxDataFrameBytes.'),
  SG_PROTO_OUT_OF_ORDER: code(409, 4409, 76, 'A valid frame arrived when the session state does not allow it (before hello, after exit, offset gap or repeat).'),
  SG_PROTO_OPEN_TIMEOUT: code(408, 4408, 76, 'No open, resume or attach frame arrived within openTimeoutMs of the upgrade.'),
  SG_FLOW_WINDOW_EXCEEDED: code(429, 4429, 76, 'The peer sent data beyond the flow-control window (outputWindowBytes or stdinWindowBytes past the last ack).'),
  SG_RESUME_REJECTED: code(404, 4404, 76, 'The resume token is unknown, expired, or not this user\'s; start a new session.'),
  SG_RESUME_SUPERSEDED: code(409, 4409, 76, 'Another connection resumed this session, so this one was closed; do not resume it again from here.'),
  SG_VIEWER_READ_ONLY: code(403, 4403, 76, 'A viewer (a connection that attached) sent stdin, resize, a signal or stdin-close: it may only ack output.'),

  // --- sessions (server/session; CLI exit 75 = EX_TEMPFAIL: retrying later may succeed) ---
  SG_SESSION_NOT_FOUND: code(404, 4404, 69, 'No session with this id is reachable by this token: it ended, never existed, or belongs to another user or tenant.'),
  SG_SESSION_ENDED: code(410, 4410, 69, 'The session a viewer watched ended without an exit status (it could not start, or its owner never came back); nothing more will come.'),
  SG_VIEWER_LIMIT: code(429, 4429, 75, 'The session has maxViewersPerSession viewers, or the user watches maxViewersPerUser sessions; attach again when one has left.'),
  SG_VIEWER_BEHIND: code(410, 4410, 75, 'The viewer fell further behind than the session keeps output (resumeBufferBytes); attach again to continue from the oldest byte kept.'),
  SG_INPUT_RATE: code(429, 4429, 75, 'The client sent control frames faster than controlFramesPerSecond allows; retry after the time given.'),
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}
