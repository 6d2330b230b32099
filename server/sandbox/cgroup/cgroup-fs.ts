import fs from 'node:fs';

import { SandgateError } from '../../errors/sandgate-error.js';

/**
 * The few file operations the cgroup drivers perform, behind an interface so that the v2
 * driver can be tested on a fake cgroupfs (a temp dir that mimics the kernel) on hosts
 * without cgroup v2 controllers. Every failure that is not an expected outcome becomes
 * SG_CGROUP naming the path.
 */
export interface CgroupFs {
  /** Whole file as text (cgroup files are small and read atomically by the kernel). */
  read(path: string): Promise<string>;
  /** Like read(), but undefined when the file (or its cgroup) does not exist. */
  readOptional(path: string): Promise<string | undefined>;
  /** One write(2) of `value`, as `echo value > path` does. */
  write(path: string, value: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Creates one directory (the parent must exist). */
  mkdir(path: string): Promise<'created' | 'exists' | 'no-parent'>;
  /** `busy`: the cgroup still has tasks or children (EBUSY, or ENOTEMPTY on a plain fs). */
  rmdir(path: string): Promise<'removed' | 'absent' | 'busy'>;
  /** Names of the subdirectories (child cgroups); [] when `path` does not exist. */
  listDirs(path: string): Promise<string[]>;
}

/** The `code` of a Node system error (`ENOENT`, `EBUSY`…), or undefined for anything else. */
export function errnoCode(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}

function cgroupError(operation: string, path: string, error: unknown): SandgateError {
  const reason = error instanceof Error ? error.message : String(error);
  return new SandgateError('SG_CGROUP', `cgroup: ${operation} ${path}: ${reason}`, { path, operation }, { cause: error });
}

/**
 * The real cgroupfs (v1 hierarchies under /sys/fs/cgroup/<controller>, or the cgroup2 mount).
 *
 * Synchronous system calls behind the async interface. cgroupfs is kernfs: no disk, each call
 * takes a few µs (measured here: mkdir 10-30 µs, a limit write 7-11 µs). Through fs/promises
 * every call was a round trip to libuv's thread pool (4 threads shared with DNS, file and
 * crypto work) and back through the event loop; creating a sandbox's cgroups took ~15 of them
 * in sequence, 2.1 ms p50 here, 0.23 ms with direct calls. The price: mkdir, rmdir and
 * cgroup.procs writes take the kernel's cgroup_mutex, so another process moving a task by
 * pid at that moment (which waits for an RCU grace period while holding it) blocks the event
 * loop for that long; the launcher itself no longer does that (cgroup-join.h).
 */
export class NodeCgroupFs implements CgroupFs {
  async read(path: string): Promise<string> {
    try {
      return fs.readFileSync(path, 'utf8');
    } catch (error) {
      throw cgroupError('read', path, error);
    }
  }

  async readOptional(path: string): Promise<string | undefined> {
    try {
      return fs.readFileSync(path, 'utf8');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return undefined;
      throw cgroupError('read', path, error);
    }
  }

  async write(path: string, value: string): Promise<void> {
    try {
      // flag 'w' = O_WRONLY|O_CREAT|O_TRUNC, what a shell redirection does: cgroupfs accepts
      // it, and the fake fs of the tests gets the file created.
      fs.writeFileSync(path, value, { flag: 'w' });
    } catch (error) {
      throw cgroupError(`write ${JSON.stringify(value)} to`, path, error);
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      fs.accessSync(path);
      return true;
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return false;
      throw cgroupError('access', path, error);
    }
  }

  async mkdir(path: string): Promise<'created' | 'exists' | 'no-parent'> {
    try {
      fs.mkdirSync(path, { mode: 0o755 });
      return 'created';
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'EEXIST') return 'exists';
      if (code === 'ENOENT') return 'no-parent';
      throw cgroupError('mkdir', path, error);
    }
  }

  async rmdir(path: string): Promise<'removed' | 'absent' | 'busy'> {
    try {
      fs.rmdirSync(path);
      return 'removed';
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT') return 'absent';
      if (code === 'EBUSY' || code === 'ENOTEMPTY') return 'busy';
      throw cgroupError('rmdir', path, error);
    }
  }

  async listDirs(path: string): Promise<string[]> {
    try {
      const entries = fs.readdirSync(path, { withFileTypes: true });
      return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return [];
      throw cgroupError('readdir', path, error);
    }
  }
}

/** Task ids listed in a `cgroup.procs` file (one decimal per line). */
export function parsePidList(text: string): number[] {
  const pids: number[] = [];
  for (const line of text.split('\n')) {
    if (/^\d+$/.test(line)) pids.push(Number(line));
  }
  return pids;
}

/**
 * A flat-keyed cgroup file (`memory.events`, `cpu.stat`, v1 `memory.oom_control`): one
 * `key value` per line. Missing keys read as undefined (older kernels lack some).
 */
export function parseKeyedCounters(text: string): Map<string, number> {
  const counters = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value, extra] = line.trim().split(/\s+/);
    if (key === undefined || value === undefined || extra !== undefined || !/^\d+$/.test(value)) continue;
    counters.set(key, Number(value));
  }
  return counters;
}

/** A single-number cgroup file (`memory.max_usage_in_bytes`, `pids.current`); `max` → Infinity. */
export function parseCounter(text: string, path: string): number {
  const trimmed = text.trim();
  if (trimmed === 'max') return Number.POSITIVE_INFINITY;
  if (!/^\d+$/.test(trimmed)) {
    throw new SandgateError('SG_CGROUP', `cgroup: ${path} holds ${JSON.stringify(trimmed.slice(0, 40))}, not a number`, { path });
  }
  return Number(trimmed);
}

export interface PollOptions {
  /** Give up after this long, ms. */
  readonly timeoutMs: number;
}

/**
 * Re-checks `done` with a backoff from 1 ms to 50 ms until it holds or `timeoutMs` passes.
 * Used where the kernel offers no event to wait on (v1: rmdir EBUSY until the last task is
 * reaped; freezer FREEZING → FROZEN). Returns whether `done` held.
 */
export async function pollUntil(done: () => Promise<boolean>, options: PollOptions): Promise<boolean> {
  const deadline = performance.now() + options.timeoutMs;
  let delayMs = 1;
  for (;;) {
    if (await done()) return true;
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(delayMs * 2, 50);
  }
}

/**
 * Removes one cgroup directory, polling while the kernel still answers EBUSY (tasks that were
 * killed but not yet reaped). Idempotent: an absent directory is success.
 * Returns false when it was still busy at the deadline.
 */
export async function removeCgroupDir(cgroupFs: CgroupFs, dir: string, options: PollOptions): Promise<boolean> {
  return pollUntil(async () => (await cgroupFs.rmdir(dir)) !== 'busy', options);
}

/** Sends SIGKILL to every pid, ignoring those that are already gone. */
export function killPids(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      if (errnoCode(error) !== 'ESRCH') throw error;
    }
  }
}

/**
 * SIGKILLs what `tasks()` lists until it lists nothing (a task may fork between a read and the
 * kill), or fails with SG_CGROUP naming the cgroup and the survivors after `timeoutMs`. The
 * drivers run it after their own first sweep (cgroup.kill on v2, freeze-kill-thaw on v1).
 */
export async function killUntilEmpty(name: string, tasks: () => Promise<readonly number[]>, timeoutMs: number): Promise<void> {
  const empty = await pollUntil(async () => {
    const left = await tasks();
    killPids(left);
    return left.length === 0;
  }, { timeoutMs });
  if (!empty) {
    throw new SandgateError('SG_CGROUP', `cgroup: tasks of ${name} survived SIGKILL for ${timeoutMs} ms`, { name, pids: await tasks() });
  }
}
