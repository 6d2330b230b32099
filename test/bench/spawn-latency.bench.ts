/**
 * Spawn latency: from the spawn call to the first stdout byte of `echo x`, for sandgate and
 * for two baselines, measured from ONE Node process and interleaved round-robin so that every
 * path shares the same machine noise (a slow second hits all of them, not one).
 *
 *   sandgate             the path a session takes: SandboxRunner.spawnPiped (plan, cgroup
 *                        create + limits) → launcher → cgroup join → namespaces → init → echo.
 *                        Clean-up (cgroup removal) happens after the first byte and is awaited
 *                        outside the measurement, before the next run.
 *   sandgate, pty        the same through SandboxRunner.spawnPty (node-pty), as a terminal
 *                        session starts. node-pty forks Node too (forkpty), like spawn().
 *   launcher, cgroup made  the same launch plan and launcher, its cgroup created beforehand:
 *                        what remains when cgroup creation is taken off the critical path
 *                        (the child still joins it: native/launcher/cgroup-join.h). The
 *                        creation it skipped is timed on its own too: row `cgroup create +
 *                        limits`.
 *   launcher, no cgroup  the plan without `cgroup` records: namespaces and mounts only.
 *   bwrap                bubblewrap 0.8 with every namespace and a /usr-only root. Its echo
 *                        runs without LANG; sandgate's gets the default env (LANG=C.UTF-8),
 *                        whose locale files cost echo about 0.1-0.2 ms more.
 *   plain                child_process.spawn('/bin/echo', ['x']).
 *   spawn() call         how long child_process.spawn() blocks the event loop in the plain
 *                        path: libuv forks this whole Node process and waits for the exec.
 *                        Every row but `cgroup create + limits` pays it.
 *
 * Not a test: it checks only that each run printed `x`. Usage:
 *   node dist/test/bench/spawn-latency.bench.js [--runs N] [--warmup N]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';

import { newSandboxCgroupName, readProcessIdentity, type ProcessIdentity } from '../../server/sandbox/cgroup/cgroup-layout.js';
import { encodeLaunchPlan } from '../../server/sandbox/launch-plan.js';
import { nativeAddon } from '../../server/sandbox/native-addon.js';
import { SANDBOX_RUNNER_DEFAULTS, SandboxRunner } from '../../server/sandbox/sandbox-runner.js';
import { parseSandboxSpec } from '../../server/sandbox/spec-validation.js';
import type { SandboxSpec } from '../../server/sandbox/sandbox-spec.js';
import { formatRatio, formatTable, summarize, type LatencySummary } from './latency-stats.js';

const DEFAULT_RUNS = 200;
const DEFAULT_WARMUP_RUNS = 10;
/** A run that has not printed and exited by then is a failure, not a sample, ms. */
const RUN_TIMEOUT_MS = 10_000;
/** The row of the runner driver's cgroup creation alone (mkdir in each hierarchy, limits). */
const CGROUP_CREATE_ROW = 'cgroup create + limits';
/** The row of the blocking child_process.spawn() call alone (in the plain path). */
const SPAWN_CALL_ROW = 'spawn() call';

/** The spec as a session hands it over, parsed (validated) inside each timed run. */
const SPEC_INPUT = Object.freeze({ argv: ['/bin/echo', 'x'] });

// Debian 12 merged /usr: /bin, /lib, /lib64 and /sbin are symlinks into /usr.
const BWRAP_ARGS = [
  '--unshare-all', '--die-with-parent',
  '--ro-bind', '/usr', '/usr',
  '--symlink', 'usr/bin', '/bin',
  '--symlink', 'usr/lib', '/lib',
  '--symlink', 'usr/lib64', '/lib64',
  '--symlink', 'usr/sbin', '/sbin',
  '--proc', '/proc', '--dev', '/dev',
  '--', '/bin/echo', 'x',
];

interface Options {
  readonly runs: number;
  readonly warmupRuns: number;
}

function parseOptions(args: readonly string[]): Options {
  const { values } = parseArgs({ args: [...args], strict: true, options: { runs: { type: 'string' }, warmup: { type: 'string' } } });
  const count = (text: string | undefined, fallback: number, min: number, option: string): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) throw new Error(`${option} needs a whole number ≥ ${min}, got ${JSON.stringify(text)}`);
    return value;
  };
  return { runs: count(values.runs, DEFAULT_RUNS, 1, '--runs'), warmupRuns: count(values.warmup, DEFAULT_WARMUP_RUNS, 0, '--warmup') };
}

/** Adds one sample, ms, to the row `name`. */
type RecordSample = (name: string, ms: number) => void;

/** One measured path: spawns `echo x` once and records the time to its first stdout byte once it is all over. */
interface Path {
  readonly name: string;
  once(record: RecordSample): Promise<void>;
}

/** A path whose only figure is the time to the first byte. */
function firstBytePath(name: string, firstByteMs: () => Promise<number>): Path {
  return { name, once: async (record) => record(name, await firstByteMs()) };
}

/**
 * Times a child_process child from the spawn call to its first stdout byte; checks output and
 * exit. `onSpawnReturned` gets how long the spawn() call itself blocked, ms.
 */
function timeChild(file: string, args: readonly string[], env: NodeJS.ProcessEnv, onSpawnReturned?: (ms: number) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawnReturned?.(performance.now() - startedAt);
    let firstByteMs: number | undefined;
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not finish within ${RUN_TIMEOUT_MS} ms`));
    }, RUN_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      firstByteMs ??= performance.now() - startedAt;
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0 || stdout !== 'x\n' || firstByteMs === undefined) {
        reject(new Error(`${file} ended with ${code ?? signal}, stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)}`));
      } else {
        resolve(firstByteMs);
      }
    });
  });
}

function sandgatePath(runner: SandboxRunner): Path {
  return firstBytePath('sandgate', async () => {
    const startedAt = performance.now();
    const sandbox = await runner.spawnPiped(parseSandboxSpec(SPEC_INPUT), { stdio: 'pipe' });
    const { stdout, stderr } = sandbox;
    if (stdout === null || stderr === null) throw new Error('spawnPiped with stdio pipe gave no stdout/stderr');
    let firstByteMs: number | undefined;
    let output = '';
    stdout.on('data', (chunk: Buffer) => {
      firstByteMs ??= performance.now() - startedAt;
      output += chunk.toString('utf8');
    });
    stderr.resume();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), RUN_TIMEOUT_MS);
    });
    const finished = Promise.all([sandbox.result, once(stdout, 'end')]).then(([result]) => result);
    const ended = await Promise.race([finished, timeout]);
    clearTimeout(timer);
    if (ended === 'timeout') {
      await sandbox.dispose();
      throw new Error(`sandgate did not finish within ${RUN_TIMEOUT_MS} ms`);
    }
    if (ended.status !== 0 || output !== 'x\n' || firstByteMs === undefined || ended.cleanupError !== undefined) {
      throw new Error(`sandgate ended with ${JSON.stringify(ended)}, stdout ${JSON.stringify(output)}`);
    }
    return firstByteMs;
  });
}

/** The same on a PTY, as a terminal session runs: node-pty, the launcher on its slave side. */
function sandgatePtyPath(runner: SandboxRunner): Path {
  return firstBytePath('sandgate, pty', async () => {
    const startedAt = performance.now();
    const sandbox = await runner.spawnPty(parseSandboxSpec(SPEC_INPUT));
    let firstByteMs: number | undefined;
    let output = '';
    const subscription = sandbox.onData((chunk) => {
      firstByteMs ??= performance.now() - startedAt;
      output += chunk.toString('utf8');
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), RUN_TIMEOUT_MS);
    });
    const ended = await Promise.race([sandbox.result, timeout]);
    clearTimeout(timer);
    subscription.dispose();
    if (ended === 'timeout') {
      await sandbox.dispose();
      throw new Error(`sandgate on a PTY did not finish within ${RUN_TIMEOUT_MS} ms`);
    }
    // The terminal turns \n into \r\n (ONLCR).
    if (ended.status !== 0 || output !== 'x\r\n' || firstByteMs === undefined || ended.cleanupError !== undefined) {
      throw new Error(`sandgate on a PTY ended with ${JSON.stringify(ended)}, output ${JSON.stringify(output)}`);
    }
    return firstByteMs;
  });
}

/** The launcher spawned directly with a plan, as the runner would, minus the runner's own steps. */
function launcherPath(runner: SandboxRunner, spec: SandboxSpec, owner: ProcessIdentity, withCgroup: boolean): Path {
  const uidRange = { start: SANDBOX_RUNNER_DEFAULTS.uidRangeStart, count: SANDBOX_RUNNER_DEFAULTS.uidRangeCount };
  const seccompPrograms = { default: nativeAddon().seccompFilter('default', 'bpf') };
  const name = withCgroup ? 'launcher, cgroup made' : 'launcher, no cgroup';
  return {
    name,
    async once(record) {
      if (!withCgroup) {
        const plan = encodeLaunchPlan(spec, { uidRange, cgroupDirs: [], seccompPrograms });
        record(name, await timeChild(runner.binaries.launcher, [], { SANDGATE_LAUNCH_PLAN: plan }));
        return;
      }
      const createdAt = performance.now();
      // A sandbox cgroup name (owner = this process): the runner's reaper removes it should we crash.
      const cgroup = await runner.cgroups.create(newSandboxCgroupName(owner), spec.limits);
      record(CGROUP_CREATE_ROW, performance.now() - createdAt);
      try {
        const plan = encodeLaunchPlan(spec, { uidRange, cgroupDirs: cgroup.dirs, seccompPrograms });
        record(name, await timeChild(runner.binaries.launcher, [], { SANDGATE_LAUNCH_PLAN: plan }));
      } finally {
        await cgroup.killAll();
        await cgroup.remove();
      }
    },
  };
}

/** Removes sandgate's tree directories if this benchmark left them empty; a busy one belongs to someone else. */
function removeEmptyTrees(runner: SandboxRunner): void {
  for (const tree of runner.cgroups.treeDirs) {
    try {
      fs.rmdirSync(tree);
    } catch (error) {
      const code = error instanceof Error && 'code' in error ? error.code : undefined;
      if (code !== 'ENOENT' && code !== 'EBUSY' && code !== 'ENOTEMPTY') throw error;
    }
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const runner = await SandboxRunner.open();
  const spec = parseSandboxSpec(SPEC_INPUT);
  const owner = await readProcessIdentity(process.pid);
  if (owner === undefined) throw new Error('cannot read /proc/self/stat');
  const paths: readonly Path[] = [
    sandgatePath(runner),
    sandgatePtyPath(runner),
    launcherPath(runner, spec, owner, true),
    launcherPath(runner, spec, owner, false),
    firstBytePath('bwrap', () => timeChild('/usr/bin/bwrap', BWRAP_ARGS, {})),
    {
      name: 'plain',
      once: async (record) => record('plain', await timeChild('/bin/echo', ['x'], {}, (ms) => record(SPAWN_CALL_ROW, ms))),
    },
  ];
  const rows = [...paths.map((p) => p.name), CGROUP_CREATE_ROW, SPAWN_CALL_ROW];
  const samples = new Map<string, number[]>(rows.map((name) => [name, []]));
  try {
    for (let round = 0; round < options.warmupRuns + options.runs; round += 1) {
      const measured = round >= options.warmupRuns;
      for (const p of paths) await p.once((name, ms) => measured && samples.get(name)?.push(ms));
    }
  } finally {
    removeEmptyTrees(runner);
  }

  const summaries = rows.map((name) => summarize(name, samples.get(name) ?? []));
  const byName = (name: string): LatencySummary => {
    const found = summaries.find((s) => s.name === name);
    if (found === undefined) throw new Error(`no summary for ${name}`);
    return found;
  };
  const sandgate = byName('sandgate');
  const cgroupMade = byName('launcher, cgroup made');
  const noCgroup = byName('launcher, no cgroup');
  const difference = (label: string, a: LatencySummary, b: LatencySummary): string =>
    `${label.padEnd(44)} p50 ${(a.p50Ms - b.p50Ms).toFixed(2).padStart(6)} ms  p99 ${(a.p99Ms - b.p99Ms).toFixed(2).padStart(6)} ms`;
  const lines = [
    `spawn → first stdout byte of \`echo x\`: ${options.runs} runs per path, interleaved round-robin after ` +
      `${options.warmupRuns} warm-up rounds (node ${process.version}, kernel ${os.release()}, ${os.cpus().length} CPUs)`,
    '',
    formatTable(summaries),
    '',
    formatRatio(sandgate, byName('bwrap')),
    formatRatio(sandgate, byName('plain')),
    '',
    'differences of percentiles (indicative: percentiles do not add up):',
    difference('cgroup join in the launcher (made − none)', cgroupMade, noCgroup),
    difference('runner steps (sandgate − cgroup made)', sandgate, cgroupMade),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
