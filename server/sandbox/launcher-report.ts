import { constants as osConstants } from 'node:os';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';

import { SandgateError } from '../errors/sandgate-error.js';
import { errnoCode } from './cgroup/cgroup-fs.js';

/**
 * The JSON report `sandgate-launcher` writes at its end (launcher-contract.md, "Report"). It
 * comes from our own binary through a private directory, but it crosses a process boundary:
 * it is checked field by field, and a report that breaks the contract is SG_LAUNCH_SUPERVISOR.
 */

export const LAUNCHER_REPORT_VERSION = 1;
/** A report is a few hundred bytes; anything far larger is not one. */
export const LAUNCHER_REPORT_MAX_BYTES = 64 * 1024;

const REASONS = ['exit', 'signal', 'time_limit', 'launcher_error', 'caller_gone'] as const;
export type LauncherReason = (typeof REASONS)[number];

export interface LauncherStepError {
  /** The failing step (`mounts`, `seccomp`…). */
  readonly step: string;
  /** The launcher's exit code for it, 200–212. */
  readonly exitCode: number;
  /** `<step>: <what>: <strerror(errno)>`, as printed on the launcher's stderr. */
  readonly message: string;
}

export interface LauncherReport {
  readonly reason: LauncherReason;
  /** The command's exit code when it exited, else null. */
  readonly exitCode: number | null;
  /** The signal that ended the command, else null. */
  readonly signal: NodeJS.Signals | null;
  /** The shell's `$?`: exit code, or 128 + signal number. */
  readonly status: number;
  /** The host uid the sandbox user was mapped to (leased), null if it failed before the lease. */
  readonly hostUid: number | null;
  readonly initPid: number | null;
  /** Sandbox lifetime measured by the launcher, ms. */
  readonly wallMs: number;
  readonly error: LauncherStepError | null;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>();
for (const [name, number] of Object.entries(osConstants.signals)) {
  if (isSignalName(name) && !SIGNAL_NAMES.has(number)) SIGNAL_NAMES.set(number, name);
}

export function isSignalName(value: string): value is NodeJS.Signals {
  return Object.prototype.hasOwnProperty.call(osConstants.signals, value);
}

/** `9` → `SIGKILL`; undefined for numbers that are no signal here. */
export function signalName(signalNumber: number): NodeJS.Signals | undefined {
  return SIGNAL_NAMES.get(signalNumber);
}

function broken(reportPath: string, what: string): SandgateError {
  return new SandgateError('SG_LAUNCH_SUPERVISOR', `launcher report ${reportPath}: ${what}`, { reportPath });
}

function field(record: Record<string, unknown>, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(record, name) ? record[name] : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

export function parseLauncherReport(text: string, reportPath: string): LauncherReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw broken(reportPath, `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isRecord(parsed)) throw broken(reportPath, 'not a JSON object');
  if (field(parsed, 'version') !== LAUNCHER_REPORT_VERSION) throw broken(reportPath, `version is not ${LAUNCHER_REPORT_VERSION}`);
  const reason = REASONS.find((candidate) => candidate === field(parsed, 'reason'));
  if (reason === undefined) throw broken(reportPath, `reason is not one of ${REASONS.join(', ')}`);
  const exitCode = field(parsed, 'exitCode');
  if (exitCode !== null && !isCount(exitCode)) throw broken(reportPath, 'exitCode is not a count or null');
  const status = field(parsed, 'status');
  if (!isCount(status)) throw broken(reportPath, 'status is not a count');
  const hostUid = field(parsed, 'hostUid') ?? null;
  if (hostUid !== null && !isCount(hostUid)) throw broken(reportPath, 'hostUid is not a uid or null');
  const initPid = field(parsed, 'initPid') ?? null;
  if (initPid !== null && !isCount(initPid)) throw broken(reportPath, 'initPid is not a pid or null');
  const wallMs = field(parsed, 'wallMs');
  if (typeof wallMs !== 'number' || !Number.isFinite(wallMs) || wallMs < 0) throw broken(reportPath, 'wallMs is not a duration');
  return { reason, exitCode, signal: parseSignal(field(parsed, 'signal'), reportPath), status, hostUid, initPid, wallMs, error: parseStepError(field(parsed, 'error') ?? null, reportPath) };
}

/** The contract shows `null`; a number or a name (`9`, `"SIGKILL"`) both mean a signal. */
function parseSignal(value: unknown, reportPath: string): NodeJS.Signals | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' && isSignalName(value)) return value;
  if (isCount(value)) {
    const name = signalName(value);
    if (name !== undefined) return name;
  }
  throw broken(reportPath, 'signal is neither null, a signal number nor a signal name');
}

function parseStepError(value: unknown, reportPath: string): LauncherStepError | null {
  if (value === null) return null;
  if (!isRecord(value)) throw broken(reportPath, 'error is not an object or null');
  const step = field(value, 'step');
  const exitCode = field(value, 'exitCode');
  const message = field(value, 'message');
  if (typeof step !== 'string' || !isCount(exitCode) || typeof message !== 'string') {
    throw broken(reportPath, 'error needs step (string), exitCode (number) and message (string)');
  }
  return { step, exitCode, message };
}

/** The report at `reportPath`, or undefined when the launcher wrote none. */
export async function readLauncherReport(reportPath: string): Promise<LauncherReport | undefined> {
  let text: string;
  try {
    // O_NOFOLLOW: the report lives in a shared directory such as /tmp.
    const file = await fs.open(reportPath, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    try {
      const { size } = await file.stat();
      if (size > LAUNCHER_REPORT_MAX_BYTES) throw broken(reportPath, `larger than ${LAUNCHER_REPORT_MAX_BYTES} bytes`);
      text = await file.readFile('utf8');
    } finally {
      await file.close();
    }
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  return parseLauncherReport(text, reportPath);
}
