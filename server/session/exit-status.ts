import type { ErrorCode } from '../../client-sdk/src/errors/error-codes.js';
import { EXIT_SIGNAL_NAMES, type ExitReason, type ExitSignalName, type ResourceUsage } from '../../client-sdk/src/protocol/index.js';
import type { SandboxEndReason, SandboxResult } from '../sandbox/sandbox-result.js';
import { assertNever } from '../errors/assert-never.js';
import type { ProcessStatus } from './session-state.js';

/**
 * How a sandbox's end reads on the wire, pure: SandboxResult (sandbox-result.ts) → the
 * ProcessStatus the session's state machine turns into the `exit` frame (docs/protocol.md,
 * "exit": exactly one of code and signal, `exited` only with a code, integers only).
 *
 * - a signal with a name in EXIT_SIGNAL_NAMES is reported by name, any other death as its
 *   status code (128 + n for a real-time signal, the shell's convention);
 * - the sandbox layer's reason wins where it knows better: time_limit → time-limit, oom →
 *   memory-limit; `killed` (the gateway ended it) leaves the reason to the session, which knows
 *   why (idle-timeout, time-limit, shutdown, …) — except a client's own KILL, which is `signaled`;
 * - a launcher failure (SG_LAUNCH_*: the sandbox could not be built) exits with the launcher's
 *   status 200–212, and `failure` carries its registry code for a non-fatal error frame.
 */

export interface SessionEnd {
  readonly status: ProcessStatus;
  /** Set when the sandbox failed rather than the command: tell the client before `exit`. */
  readonly failure: { readonly code: ErrorCode; readonly message: string } | undefined;
}

const EXIT_SIGNALS: ReadonlySet<string> = new Set(EXIT_SIGNAL_NAMES);

function isExitSignalName(name: string): name is ExitSignalName {
  return EXIT_SIGNALS.has(name);
}

/** `SIGTERM` → `TERM` when the protocol names it, else undefined. */
export function exitSignalName(signal: NodeJS.Signals | null): ExitSignalName | undefined {
  if (signal === null || !signal.startsWith('SIG')) return undefined;
  const name = signal.slice(3);
  return isExitSignalName(name) ? name : undefined;
}

function count(value: number): number {
  return Number.isFinite(value) && value > 0 ? Math.min(Math.round(value), Number.MAX_SAFE_INTEGER) : 0;
}

export function usageOf(result: Pick<SandboxResult, 'cpuMs' | 'peakMemoryBytes' | 'wallMs'>): ResourceUsage {
  return { cpuMs: count(result.cpuMs), peakMemoryBytes: count(result.peakMemoryBytes), wallMs: count(result.wallMs) };
}

function reasonOf(reason: SandboxEndReason, clientKilled: boolean): ExitReason | undefined {
  switch (reason) {
    case 'exit':
      return 'exited';
    case 'signal':
      return 'signaled';
    case 'time_limit':
      return 'time-limit';
    case 'oom':
      return 'memory-limit';
    case 'killed':
      return clientKilled ? 'signaled' : undefined;
    case 'launcher_error':
      return 'exited';
    case 'caller_gone':
      return 'killed';
    default:
      return assertNever(reason, 'sandbox end reason');
  }
}

/**
 * `clientKilled`: the client's `signal KILL` ended the sandbox (the gateway applies KILL to
 * the whole sandbox, so the launcher's own view is "killed by its caller").
 */
export function sessionEndOf(result: SandboxResult, options: { readonly clientKilled: boolean }): SessionEnd {
  const usage = usageOf(result);
  const failure = result.reason === 'launcher_error' && result.error !== undefined ? { code: result.error.code, message: result.error.message } : undefined;
  if (options.clientKilled && result.reason === 'killed') {
    return { status: { code: null, signal: 'KILL', usage, reason: 'signaled' }, failure };
  }
  const signal = exitSignalName(result.signal);
  let reason = reasonOf(result.reason, options.clientKilled);
  if (signal !== undefined) {
    // A signal was the end, whatever the label said: `exited` needs a code.
    if (reason === 'exited') reason = 'signaled';
    return { status: { code: null, signal, usage, ...(reason === undefined ? {} : { reason }) }, failure };
  }
  const code = result.exitCode !== null && isExitCode(result.exitCode) ? result.exitCode : isExitCode(result.status) ? result.status : 255;
  return { status: { code, signal: null, usage, ...(reason === undefined ? {} : { reason }) }, failure };
}

function isExitCode(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 255;
}
