import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { ERROR_CODES } from '../../client-sdk/src/errors/error-codes.js';
import { isSandgateError, SandgateError } from '../errors/sandgate-error.js';
import { NodeCgroupFs } from '../sandbox/cgroup/cgroup-fs.js';
import { readCgroupLayout, SANDGATE_CGROUP_TREE, type CgroupLayout } from '../sandbox/cgroup/cgroup-layout.js';
import { locateLauncherBinaries, type LauncherBinaries } from '../sandbox/launcher-binary.js';
import { NAMESPACE_KINDS, type HostProbe, type SeccompActionName } from '../sandbox/native-addon.js';
import { SANDBOX_RUNNER_DEFAULTS } from '../sandbox/sandbox-runner.js';

/**
 * `sandgate doctor`: what this host offers sandboxes, from the addon's probe(), the launcher
 * binaries, sandgate's own cgroup layout and a few /proc files. One row per check with what
 * to do when it fails. Exit 0 when sandboxes can run, 69 (SG_HOST_UNSUPPORTED) otherwise.
 * It only reads: nothing is created, moved or written.
 */

export const DOCTOR_USAGE = `Usage: sandgate doctor [--quiet] [--json]

Checks whether this host can run sandboxes and says what to do about what is missing.
Exit status 0 when it can, 69 (SG_HOST_UNSUPPORTED) when it cannot.

  --quiet     print only the problems
  --json      print {"ok", "checks": [{"name", "status", "detail", "fix", "required"}]}
  -h, --help  this text
`;

export type CheckStatus = 'OK' | 'MISSING' | 'WARN';

export interface DoctorCheck {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do, when status is not OK. */
  readonly fix: string | undefined;
  /** A required check that is MISSING makes the host unsupported. */
  readonly required: boolean;
}

/** Everything the checks look at, gathered first (an Error where gathering failed). */
export interface HostFacts {
  readonly probe: HostProbe | Error;
  readonly binaries: LauncherBinaries | Error;
  readonly layout: CgroupLayout | Error;
  /** /proc/sys/kernel/pty/max and /nr, when readable. */
  readonly pty: { readonly max: number; readonly nr: number } | undefined;
  /** Optional tools: name → path found, or undefined. */
  readonly tools: Readonly<Record<string, string | undefined>>;
}

/** Where optional tools are looked for (fixed: nothing reads PATH outside the config module). */
export const TOOL_DIRS: readonly string[] = Object.freeze(['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']);
const OPTIONAL_TOOLS = Object.freeze({
  bwrap: 'bubblewrap: only for comparison benchmarks (apt-get install bubblewrap)',
  'redis-server': 'Redis: for multi-node quotas and the Redis tests (apt-get install redis-server)',
});
/** PTYs a host should leave for sandboxes; FIELD-NOTES: kernel.pty.max is 4096 here. */
export const PTY_MAX_WANTED = 4096;
const REQUIRED_SECCOMP_ACTIONS: readonly SeccompActionName[] = ['kill_process', 'errno'];

function message(error: Error): string {
  return isSandgateError(error) ? `${error.message} [${error.code}]` : error.message;
}

function check(name: string, ok: boolean, detail: string, fix: string, required = true): DoctorCheck {
  return { name, status: ok ? 'OK' : required ? 'MISSING' : 'WARN', detail, fix: ok ? undefined : fix, required };
}

/** The checks, decided from the facts (pure). */
export function doctorChecks(facts: HostFacts): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  const { probe, binaries, layout } = facts;

  checks.push(binaries instanceof Error
    ? check('launcher binaries', false, message(binaries), 'build them: npm run build:native')
    : check('launcher binaries', true, `${binaries.launcher}, ${binaries.init}`, ''));

  if (probe instanceof Error) {
    checks.push(check('native addon', false, message(probe), 'build it: npm run build:native'));
  } else {
    checks.push(check('root', probe.root, probe.root ? 'euid 0 with CAP_SYS_ADMIN' : 'not root or no CAP_SYS_ADMIN', 'run sandgate as root (the launcher needs it to build namespaces and cgroups)'));
    for (const kind of NAMESPACE_KINDS) {
      const support = probe.namespaces[kind];
      checks.push(check(`namespace ${kind}`, support.ok, support.ok ? 'can be created' : support.error ?? 'cannot be created',
        kind === 'user' ? 'enable unprivileged user namespaces or run as root (sysctl user.max_user_namespaces > 0)' : `a kernel with CONFIG_${kind.toUpperCase()}_NS`));
    }
    const missingActions = REQUIRED_SECCOMP_ACTIONS.filter((action) => !probe.seccomp.actions.includes(action));
    checks.push(check('seccomp', probe.seccomp.ok && missingActions.length === 0,
      probe.seccomp.ok ? `libseccomp ${probe.seccomp.libseccomp}; actions ${probe.seccomp.actions.join(' ')}` : probe.seccomp.error ?? 'filter mode unavailable',
      missingActions.length > 0 ? `a kernel with the seccomp actions ${missingActions.join(', ')}` : 'a kernel with CONFIG_SECCOMP_FILTER and libseccomp2'));
    const conflicts = probe.uidRange.conflicts;
    checks.push(check('uid range', conflicts.length === 0,
      `${probe.uidRange.start}–${probe.uidRange.start + probe.uidRange.count - 1} (${probe.uidRange.count} uids)` + (conflicts.length > 0 ? `; in use: ${conflicts.join(', ')}` : ''),
      'pick a range no /etc/passwd user or /etc/subuid entry uses'));
  }

  if (layout instanceof Error) {
    checks.push(check('cgroups', false, message(layout), 'mount the memory, pids, cpu, cpuacct controllers (v1) or use a cgroup v2 host'));
  } else {
    const controllers = layout.hierarchies.flatMap((hierarchy) => hierarchy.controllers).join(' ');
    checks.push(check('cgroups', true, `v${layout.version}: ${controllers}`, ''));
    for (const hierarchy of layout.hierarchies) {
      checks.push(check(`cgroup tree ${hierarchy.controllers.join(',')}`, true, path.join(hierarchy.ownDir, SANDGATE_CGROUP_TREE), ''));
    }
    if (layout.version === 1 && !layout.hierarchies.some((hierarchy) => hierarchy.controllers.includes('freezer'))) {
      checks.push(check('cgroup freezer', false, 'not mounted: no freeze/thaw, killAll loops instead', 'mount the v1 freezer controller', false));
    }
  }
  if (!(probe instanceof Error) && !(layout instanceof Error) && probe.cgroup.version !== layout.version) {
    checks.push(check('cgroup version', false, `the addon sees v${probe.cgroup.version}, sandgate uses v${layout.version}`, 'report this: the two detections disagree', false));
  }

  checks.push(facts.pty === undefined
    ? check('kernel pty max', false, '/proc/sys/kernel/pty/max unreadable', 'mount /proc', false)
    : check('kernel pty max', facts.pty.max >= PTY_MAX_WANTED, `${facts.pty.max} for the host, ${facts.pty.nr} in use`, `sysctl -w kernel.pty.max=${PTY_MAX_WANTED} (or more)`, false));

  for (const [tool, use] of Object.entries(OPTIONAL_TOOLS)) {
    const found = facts.tools[tool];
    checks.push(check(`${tool} (optional)`, found !== undefined, found ?? 'not installed', use, false));
  }
  return checks;
}

async function settle<T>(gather: () => Promise<T> | T): Promise<T | Error> {
  try {
    return await gather();
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

async function readNumber(file: string): Promise<number | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  return text === undefined || !/^\d+\s*$/.test(text) ? undefined : Number(text);
}

async function findTool(name: string): Promise<string | undefined> {
  for (const dir of TOOL_DIRS) {
    const file = path.join(dir, name);
    if (await fs.access(file, fs.constants.X_OK).then(() => true, () => false)) return file;
  }
  return undefined;
}

export async function gatherHostFacts(): Promise<HostFacts> {
  const probe = await settle(async () => {
    const { nativeAddon } = await import('../sandbox/native-addon.js');
    return nativeAddon().probe({ uidRangeStart: SANDBOX_RUNNER_DEFAULTS.uidRangeStart, uidRangeCount: SANDBOX_RUNNER_DEFAULTS.uidRangeCount });
  });
  const [binaries, layout, max, nr] = await Promise.all([
    settle(() => locateLauncherBinaries()),
    settle(() => readCgroupLayout(new NodeCgroupFs())),
    readNumber('/proc/sys/kernel/pty/max'),
    readNumber('/proc/sys/kernel/pty/nr'),
  ]);
  const tools: Record<string, string | undefined> = {};
  for (const tool of Object.keys(OPTIONAL_TOOLS)) tools[tool] = await findTool(tool);
  return { probe, binaries, layout, pty: max === undefined || nr === undefined ? undefined : { max, nr }, tools };
}

export function formatChecks(checks: readonly DoctorCheck[]): string {
  const width = Math.max(0, ...checks.map((row) => row.name.length));
  return checks
    .map((row) => `${row.status.padEnd(8)} ${row.name.padEnd(width)}  ${row.detail}` + (row.fix === undefined ? '' : `\n${' '.repeat(9 + width)}  → ${row.fix}`))
    .join('\n');
}

export async function runDoctorCommand(argv: readonly string[]): Promise<number> {
  let values: { quiet?: boolean; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: { quiet: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    const usage = new SandgateError('SG_USAGE', error instanceof Error ? error.message : 'the options could not be parsed');
    process.stderr.write(`sandgate doctor: ${usage.message} [${usage.code}]\n`);
    return usage.exitCode;
  }
  if (values.help === true) {
    process.stdout.write(DOCTOR_USAGE);
    return 0;
  }
  const checks = doctorChecks(await gatherHostFacts());
  const ok = !checks.some((row) => row.required && row.status === 'MISSING');
  const shown = values.quiet === true ? checks.filter((row) => row.status !== 'OK') : checks;
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify({ ok, checks: shown }, null, 2)}\n`);
  } else {
    if (shown.length > 0) process.stdout.write(`${formatChecks(shown)}\n`);
    if (!ok || values.quiet !== true) {
      process.stdout.write(ok ? 'sandboxes can run on this host\n' : `sandboxes cannot run on this host [SG_HOST_UNSUPPORTED]\n`);
    }
  }
  return ok ? 0 : ERROR_CODES.SG_HOST_UNSUPPORTED.exitCode;
}
