import type { ErrorCode } from '../../client-sdk/src/errors/error-codes.js';
import type { OpenFrame } from '../../client-sdk/src/protocol/index.js';
import { authorize, type Principal } from '../auth/principal.js';
import { isSandgateError } from '../errors/sandgate-error.js';
import type { SessionPolicy } from '../quota/session-policy.js';
import type { SandboxSpec } from '../sandbox/sandbox-spec.js';
import { parseSandboxSpec } from '../sandbox/spec-validation.js';

/**
 * An `open` frame → the sandbox to start, or the refusal, pure (STYLE.md rule 6). The frame
 * has passed the codec (types, bounds, no NUL); what is decided here is policy:
 *
 * - the token's scope: `pty` for a terminal, `exec` for a command (SG_AUTH_FORBIDDEN);
 * - the command: the frame's argv, or DEFAULT_PTY_ARGV for a pty without one;
 * - env and cwd through the sandbox's own validation (parseSandboxSpec): env is laid over the
 *   sandbox defaults and may not name sandgate's own variables (SG_SPEC_FORBIDDEN), cwd must
 *   be a normalised absolute path (SG_SPEC_INVALID);
 * - the limits are the session policy's (tenant limits lowered by the token, computed at the
 *   upgrade by quota/session-policy.ts): the client has no say in them.
 */

/** The shell of a pty session opened without argv: a login shell, as ssh starts. */
export const DEFAULT_PTY_ARGV: readonly string[] = Object.freeze(['/bin/bash', '-l']);

export type OpenDecision =
  | {
      readonly ok: true;
      readonly spec: SandboxSpec;
      /** Terminal size, pty only. */
      readonly size: { readonly cols: number; readonly rows: number } | undefined;
    }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

export function decideOpen(frame: OpenFrame, principal: Principal, policy: SessionPolicy): OpenDecision {
  const forbidden = authorize(principal, { scope: frame.kind });
  if (forbidden !== undefined) {
    return { ok: false, code: forbidden.code, message: `open ${frame.kind}: the token lacks the "${frame.kind}" scope.` };
  }
  const argv = frame.argv ?? DEFAULT_PTY_ARGV;
  const input: Record<string, unknown> = { argv: [...argv], limits: { ...policy.limits } };
  if (frame.env !== undefined) input['env'] = { ...frame.env };
  if (frame.cwd !== undefined) input['cwd'] = frame.cwd;
  let spec: SandboxSpec;
  try {
    spec = parseSandboxSpec(input);
  } catch (error) {
    if (isSandgateError(error, 'SG_SPEC_INVALID') || isSandgateError(error, 'SG_SPEC_FORBIDDEN')) {
      return { ok: false, code: error.code, message: `open: ${error.message}` };
    }
    throw error;
  }
  return { ok: true, spec, size: frame.kind === 'pty' ? { cols: frame.cols, rows: frame.rows } : undefined };
}
