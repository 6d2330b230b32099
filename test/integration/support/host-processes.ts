import fs from 'node:fs';

import { errnoCode } from './errno-code.js';
import { waitUntil } from './wait-until.js';

/**
 * The host's view of processes, read from /proc as root: sandboxed processes have host pids
 * and their command lines are readable from here, whatever namespaces they are in.
 */

export interface HostProcess {
  readonly pid: number;
  readonly argv: readonly string[];
}

/** Reads a /proc file of a process that may exit meanwhile: undefined once it is gone. */
function readProcFile(pid: number, file: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw error;
  }
}

function hostPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** Every live host process (zombies too: their pid is not free yet) whose argv contains `marker`. */
export function processesWithMarker(marker: string): HostProcess[] {
  const found: HostProcess[] = [];
  for (const pid of hostPids()) {
    if (pid === process.pid) continue;
    const cmdline = readProcFile(pid, 'cmdline');
    if (cmdline === undefined || !cmdline.includes(marker)) continue;
    found.push({ pid, argv: cmdline.split('\0').filter((arg) => arg !== '') });
  }
  return found;
}

/** The `/proc/<pid>/stat` fields after the command name (field 3 onwards), or undefined once gone. */
function statFields(pid: number): string[] | undefined {
  const stat = readProcFile(pid, 'stat');
  if (stat === undefined) return undefined;
  // proc(5): "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * A process identity that survives pid reuse: pid plus start time (field 22 of
 * /proc/<pid>/stat, clock ticks since boot).
 */
export interface ProcessIdentity {
  readonly pid: number;
  readonly startTime: string;
}

export function identify(pid: number): ProcessIdentity | undefined {
  const startTime = statFields(pid)?.[19];
  return startTime === undefined ? undefined : { pid, startTime };
}

/** True while the very process `id` names exists (a zombie counts: it has not been reaped). */
export function isAlive(id: ProcessIdentity): boolean {
  return statFields(id.pid)?.[19] === id.startTime;
}

/** Single-letter state (`R`, `S`, `Z`…) of a live process. */
export function processState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}

/** Direct children of `pid` on the host. */
export function childrenOf(pid: number): number[] {
  return hostPids().filter((candidate) => statFields(candidate)?.[1] === String(pid));
}

/** Every descendant of `pid` on the host, breadth first. */
export function descendantsOf(pid: number): number[] {
  const found: number[] = [];
  const queue = [pid];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const children = childrenOf(next);
    found.push(...children);
    queue.push(...children);
  }
  return found;
}

/** The executable of `pid` (`/proc/<pid>/exe`), or undefined when gone or unreadable. */
export function executableOf(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw error;
  }
}

/** The host mount table of this process's mount namespace, one entry per mount. */
export function hostMounts(): string[] {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((line) => line !== '');
}

/**
 * True when `pid` leads the foreground process group of its controlling terminal (proc(5):
 * field 5 pgrp equals field 8 tpgid): keystrokes like Ctrl-C and Ctrl-Z now reach it.
 */
export function isInForeground(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[2] === String(pid) && fields[5] === String(pid);
}

/** The argv of `pid` (empty for a zombie or once gone). */
export function argvOf(pid: number): string[] {
  return (readProcFile(pid, 'cmdline') ?? '').split('\0').filter((arg) => arg !== '');
}

/** A process of this test's gateway (a descendant of this process) running exactly `argv`, once it runs. */
export function sandboxProcessRunning(argv: readonly string[], timeoutMs = 10_000): Promise<ProcessIdentity> {
  return waitUntil(`${argv.join(' ')} to run in a sandbox`, () => {
    for (const pid of descendantsOf(process.pid)) {
      const id = argvOf(pid).join(' ') === argv.join(' ') ? identify(pid) : undefined;
      if (id !== undefined) return { done: true, value: id };
    }
    return { done: false, state: 'not started' };
  }, { timeoutMs });
}
