import { constants as osConstants } from 'node:os';

import { ERROR_CODES, isErrorCode, type ErrorCode } from '../../client-sdk/src/errors/error-codes.js';
import { SandgateError } from '../errors/sandgate-error.js';
import type { CgroupUsage } from './cgroup/cgroup-driver.js';
import type { LauncherReport } from './launcher-report.js';

/**
 * How a sandbox ended, decided in one pure function from three witnesses: how the launcher
 * process ended (Node), the launcher's report (what happened inside), and the cgroup's
 * counters (cpu, memory, OOM kills — read before the cgroup is removed).
 */

export type SandboxEndReason =
  /** The command exited by itself (any code). */
  | 'exit'
  /** The command was killed by a signal (not the OOM killer, not a limit). */
  | 'signal'
  /** The launcher killed the sandbox when timeLimitMs passed. */
  | 'time_limit'
  /** The kernel's OOM killer killed the command (memory limit). */
  | 'oom'
  /** The sandbox could not be set up or supervised: `error` holds SG_LAUNCH_*. */
  | 'launcher_error'
  /** The launcher's caller went away (it cleaned up on its own). */
  | 'caller_gone'
  /** The owner ended it: kill() or dispose() before it exited. */
  | 'killed';

export interface SandboxResult {
  /** What a shell shows as `$?`: the exit code, 128 + signal number, or the launcher's 200–212. */
  readonly status: number;
  /** The command's exit code when it exited by itself, else null. */
  readonly exitCode: number | null;
  /** The signal that ended the command, else null. */
  readonly signal: NodeJS.Signals | null;
  readonly reason: SandboxEndReason;
  /** CPU time of the whole sandbox (user + system), ms. */
  readonly cpuMs: number;
  /** Peak memory of the whole sandbox incl. tmpfs and page cache, bytes. */
  readonly peakMemoryBytes: number;
  /** Processes the OOM killer killed in the sandbox. */
  readonly oomKills: number;
  /** Wall-clock lifetime, ms (the launcher's measure when it reported, else spawn to exit). */
  readonly wallMs: number;
  /** The host uid the sandbox user ran as, when the launcher got that far. */
  readonly hostUid: number | null;
  /** Why the sandbox failed (reason `launcher_error`), from the SG_LAUNCH_* registry. */
  readonly error?: SandgateError;
  /** Clean-up that failed after the end (cgroup or run dir left behind for the reaper). */
  readonly cleanupError?: SandgateError;
}

export interface SandboxEnding {
  /** How the launcher process ended, as Node reports it. */
  readonly launcherExit: { readonly code: number | null; readonly signal: NodeJS.Signals | null };
  /** Undefined when the launcher wrote none. */
  readonly report: LauncherReport | undefined;
  /** Set when the report broke the contract (then `report` is undefined). */
  readonly reportError?: SandgateError;
  /** Undefined when the counters could not be read. */
  readonly usage: CgroupUsage | undefined;
  /** kill()/dispose() was called before the launcher exited. */
  readonly killedByCaller: boolean;
  /** Spawn to exit, measured by the caller, ms. */
  readonly measuredWallMs: number;
}

/** The registry code for a launcher exit code 200–212, or undefined for any other code. */
export function launcherErrorCode(exitCode: number): ErrorCode | undefined {
  return Object.keys(ERROR_CODES)
    .filter(isErrorCode)
    .find((code) => code.startsWith('SG_LAUNCH_') && ERROR_CODES[code].exitCode === exitCode);
}

/** First launcher exit code that is not the command's status (launcher-contract.md). */
export const LAUNCHER_ERROR_EXIT_MIN = 200;

const SIGKILL_STATUS = 128 + osConstants.signals.SIGKILL;

function signalStatus(signal: NodeJS.Signals): number {
  return 128 + osConstants.signals[signal];
}

export function decideSandboxResult(ending: SandboxEnding): SandboxResult {
  const { launcherExit, report, usage } = ending;
  const measures = {
    cpuMs: usage === undefined ? 0 : usage.cpuUsageNs / 1e6,
    peakMemoryBytes: usage?.memoryPeakBytes ?? 0,
    oomKills: usage?.oomKills ?? 0,
    wallMs: report?.wallMs ?? ending.measuredWallMs,
    hostUid: report?.hostUid ?? null,
  };
  const failed = (status: number, error: SandgateError, reason: SandboxEndReason = 'launcher_error'): SandboxResult => ({
    status,
    exitCode: null,
    signal: null,
    reason,
    ...measures,
    error,
  });

  if (launcherExit.signal !== null) {
    const status = signalStatus(launcherExit.signal);
    if (ending.killedByCaller) return { status, exitCode: null, signal: launcherExit.signal, reason: 'killed', ...measures };
    return failed(status, new SandgateError('SG_LAUNCH_SUPERVISOR', `sandgate-launcher was killed by ${launcherExit.signal}`, { signal: launcherExit.signal }));
  }
  const code = launcherExit.code ?? 0;
  // The exit code alone is ambiguous (a command may exit 200–255 too): the report decides.
  const launcherFailure = (): SandboxResult => {
    const failedCode = report?.error?.exitCode ?? code;
    const errorCode = launcherErrorCode(failedCode) ?? 'SG_LAUNCH_SUPERVISOR';
    const message = report?.error?.message ?? `sandgate-launcher exited ${code}: ${ERROR_CODES[errorCode].summary}`;
    const error = new SandgateError(errorCode, message, { launcherExitCode: code, step: report?.error?.step });
    return failed(code, error, report?.reason === 'caller_gone' ? 'caller_gone' : 'launcher_error');
  };
  if (ending.reportError !== undefined) return failed(code, ending.reportError);
  if (report === undefined) {
    if (code >= LAUNCHER_ERROR_EXIT_MIN) return launcherFailure();
    if (ending.killedByCaller) return { status: code, exitCode: null, signal: null, reason: 'killed', ...measures };
    return failed(code, new SandgateError('SG_LAUNCH_SUPERVISOR', `sandgate-launcher exited ${code} without writing its report`, { launcherExitCode: code }));
  }
  if (report.reason === 'launcher_error' || report.error !== null) return launcherFailure();

  const command = { status: report.status, exitCode: report.exitCode, signal: report.signal, ...measures };
  // A command killed by SIGKILL, or a shell reporting a child so killed (137), while the
  // cgroup counted an OOM kill: the memory limit ended it (FIELD-NOTES: failcnt is no witness).
  const diedOfSigkill = report.signal === 'SIGKILL' || report.status === SIGKILL_STATUS;
  if (report.reason === 'time_limit') return { ...command, reason: 'time_limit' };
  if (diedOfSigkill && measures.oomKills > 0) return { ...command, reason: 'oom' };
  if (diedOfSigkill && ending.killedByCaller) return { ...command, reason: 'killed' };
  return { ...command, reason: report.reason };
}
