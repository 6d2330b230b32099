import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

/**
 * The host's view of processes, read from /proc as root: sandboxed processes have host pids
 * and readable command lines, whatever namespaces they are in (what `pgrep -f` shows).
 */

function readCmdline(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined; // gone since the directory listing: not a match
  }
}

/** Host pids (other than this process) whose command line contains `marker`. */
export function processesWithMarker(marker: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => pid !== process.pid && (readCmdline(pid)?.includes(marker) ?? false));
}

/** The argv of a host process (empty once gone). */
export function argvOf(pid: number): string[] {
  return (readCmdline(pid) ?? '').split('\0').filter((arg) => arg !== '');
}

/** Host pids of sandboxed probe processes (argv[0] named `sg-probe`, however it was exec'd)
 * whose argv contains `marker`: not the CLI or sandgate-init, which carry the marker too. */
export function probeProcesses(marker: string): number[] {
  return processesWithMarker(marker).filter((pid) => argvOf(pid)[0]?.split('/').pop() === 'sg-probe');
}

/** SIGKILLs each pid, ignoring ones already gone (used by teardown only). */
export function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      if (!(error instanceof Error && 'code' in error && error.code === 'ESRCH')) throw error;
    }
  }
}

/** True while `pid` exists (signal 0). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ESRCH') return false;
    throw error;
  }
}

/**
 * A host process that only waits (`sleep 600`), named `marker` in its argv[0]: the target of
 * "can the sandbox see / signal host processes" probes. Killed by the suite's teardown.
 */
export function spawnDecoy(marker: string): ChildProcess {
  const decoy = spawn('sleep', ['600'], { argv0: marker, stdio: 'ignore' });
  decoy.on('error', () => undefined);
  return decoy;
}

/** Resolves with the wall time of spawning `/bin/true` on the host and seeing it exit, ms. */
export async function hostSpawnMs(): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('/bin/true', [], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`/bin/true exited ${code}`))));
  });
  return performance.now() - started;
}

/** The state letter (R, S, D, T, Z…) and kernel wait channel of a host process, or undefined once gone. */
export function processWait(pid: number): { state: string; wchan: string } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const wchan = fs.readFileSync(`/proc/${pid}/wchan`, 'utf8');
    return { state: stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3), wchan };
  } catch {
    return undefined;
  }
}

/** Resident set size of a host process in bytes (VmRSS), or undefined once gone. */
export function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Pause between two looks at host state, ms. */
const POLL_INTERVAL_MS = 20;

/**
 * Bounded polling of host state (the process table): resolves with the first non-undefined
 * value of `look`, or rejects after `timeoutMs` naming `what` and the last state described.
 * Used only where the kernel offers no event to wait on (a process blocking in pipe_write).
 */
export async function pollHost<T>(what: string, look: () => T | undefined, timeoutMs: number, describe: () => string = () => ''): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = look();
    if (value !== undefined) return value;
    if (performance.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}
