import { SANDBOX_USER } from './sandbox-spec.js';

/**
 * What every sandbox looks like inside, whatever its spec: the host paths it sees, the files
 * written into its /etc, the /proc entries hidden from it and the rlimits it runs under.
 * Pure data and pure builders; launch-plan.ts encodes them, spec-validation.ts keeps a spec's
 * binds from colliding with them, docs/sandbox.md describes them.
 */

/** The root is a tmpfs holding only mount points and the /etc files below: a few KiB used. */
export const ROOT_TMPFS_BYTES = 1024 * 1024;

/**
 * Host paths recreated at the same place (symlink copied, or read-only nosuid nodev bind).
 * On merged-/usr Debian `/bin`, `/lib`, … are symlinks into `/usr`. /lib32 and /libx32 carry
 * multilib runtimes on some hosts; missing ones are skipped by the launcher. /usr/local is
 * part of /usr: an operator who installs there exposes it to every sandbox.
 */
export const SYSTEM_PATHS: readonly string[] = Object.freeze(['/usr', '/bin', '/lib', '/lib32', '/lib64', '/libx32', '/sbin']);

/**
 * Host directories whose content a sandbox must never replace or write, even through a bind
 * a spec asks for: the system paths above plus /etc (which the sandbox gets as a tmpfs with
 * the files below) and /boot.
 */
export const PROTECTED_SYSTEM_PATHS: readonly string[] = Object.freeze([...SYSTEM_PATHS, '/etc', '/boot']);

/**
 * Host files under /etc that programs need and that carry nothing secret, bound read-only
 * and skipped when missing (`ro?`). Never /etc/shadow, /etc/gshadow, /etc/sudoers, /etc/ssh
 * (host keys), /etc/machine-id (a stable host identifier), /etc/environment (may hold proxy
 * credentials) or /etc/resolv.conf (there is no network to resolve on).
 */
export const HOST_ETC_PATHS: readonly string[] = Object.freeze([
  // Debian's /usr/bin/awk, editor, pager, … are symlinks through it (update-alternatives(1)).
  '/etc/alternatives',
  // The dynamic loader's cache and configuration: without them it falls back to the
  // trusted directories only and misses the multiarch paths (ld.so(8)).
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  // Shell start-up, line editing and terminal descriptions for a usable interactive shell.
  '/etc/bash.bashrc',
  '/etc/profile',
  '/etc/profile.d',
  '/etc/inputrc',
  '/etc/terminfo',
  '/etc/localtime',
  // getservbyname(3) and getprotobyname(3); /etc/os-release only repeats /usr/lib/os-release.
  '/etc/services',
  '/etc/protocols',
  '/etc/os-release',
  // Public CA certificates (symlinks into /usr/share/ca-certificates), for a policy with egress.
  '/etc/ssl/certs',
]);

/** Mount points the layout itself owns; a spec bind may sit below them but not on or above. */
export const TMP_DIR = '/tmp';
export const SHM_DIR = '/dev/shm';

/** Mode and owner of each tmpfs: sticky world-writable like a host's, home private. */
export const TMPFS_MODES = Object.freeze({ tmp: 0o1777, home: 0o700, shm: 0o1777 });

/** Mode of every file written into /etc. */
export const ETC_FILE_MODE = 0o644;

/**
 * /proc entries masked (a file covered by /dev/null, a directory by an empty read-only tmpfs).
 * Docker's default masked paths (moby oci/defaults.go) — acpi, asound, kcore, keys,
 * latency_stats, sched_debug, scsi, timer_list, timer_stats — plus:
 * - kallsyms: kernel symbol addresses when the host's kptr_restrict is 0 (a KASLR bypass);
 * - key-users: per-uid key quotas of other users;
 * - kmsg: the host's kernel log (CAP_SYSLOG guards reads; masking makes it plainly absent);
 * - sysrq-trigger: also read-only below; masking makes a write land in /dev/null;
 * - sys/kernel/random/boot_id: a host identifier, the same in every sandbox until the host
 *   reboots (two sessions could tell they share a machine), hidden like /etc/machine-id.
 * /sys is not mounted at all, so Docker's /sys/firmware and powercap entries have no object.
 */
export const PROC_MASKED_PATHS: readonly string[] = Object.freeze([
  '/proc/acpi',
  '/proc/asound',
  '/proc/kallsyms',
  '/proc/kcore',
  '/proc/key-users',
  '/proc/keys',
  '/proc/kmsg',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/sys/kernel/random/boot_id',
  '/proc/sysrq-trigger',
  '/proc/timer_list',
  '/proc/timer_stats',
]);

/** /proc entries bind-remounted read-only: Docker's default readonly paths, unchanged. */
export const PROC_READONLY_PATHS: readonly string[] = Object.freeze([
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
]);

/** Names the launcher accepts in `rlimit` records (launcher-contract.md). */
export type RlimitName =
  | 'nofile'
  | 'nproc'
  | 'fsize'
  | 'core'
  | 'cpu'
  | 'as'
  | 'stack'
  | 'memlock'
  | 'msgqueue'
  | 'nice'
  | 'rtprio'
  | 'sigpending'
  | 'locks'
  | 'data';

/** soft = hard: a sandbox never raises its own limits. */
export interface Rlimit {
  readonly name: RlimitName;
  readonly value: number;
}

/**
 * RLIMIT_MEMLOCK, bytes: the historical 64 KiB default, enough for gpg's secure memory.
 * Locked pages cannot be reclaimed, and io_uring (which used it) is refused by seccomp.
 */
export const MEMLOCK_BYTES = 64 * 1024;
/** RLIMIT_MSGQUEUE, bytes of POSIX message queues; the IPC namespace is private anyway. */
export const MSGQUEUE_BYTES = 256 * 1024;
/** RLIMIT_SIGPENDING, queued signals; each is a kernel allocation (signal(7)). */
export const SIGPENDING_MAX = 4096;

/**
 * The rlimits of a sandbox, sorted by name. nproc equals the pids limit: since Linux 5.14
 * RLIMIT_NPROC is counted per (user namespace, uid) in ucounts, and each sandbox leases its
 * own host uid, so it is a second fence that holds even where the pids controller is missing.
 * nice and rtprio are set to 0 so nothing is inherited from the gateway's own limits.
 * cpu, as, data and stack are left alone: the cgroup bounds memory and CPU.
 */
export function sandboxRlimits(limits: { readonly openFiles: number; readonly fileSizeBytes: number; readonly pids: number }): readonly Rlimit[] {
  return [
    { name: 'core', value: 0 },
    { name: 'fsize', value: limits.fileSizeBytes },
    { name: 'memlock', value: MEMLOCK_BYTES },
    { name: 'msgqueue', value: MSGQUEUE_BYTES },
    { name: 'nice', value: 0 },
    { name: 'nofile', value: limits.openFiles },
    { name: 'nproc', value: limits.pids },
    { name: 'rtprio', value: 0 },
    { name: 'sigpending', value: SIGPENDING_MAX },
  ];
}

export interface EtcFile {
  /** File name under /etc. */
  readonly name: string;
  readonly mode: number;
  readonly content: string;
}

/**
 * The /etc files written for a sandbox. uid 0 is not mapped inside (only the sandbox user
 * is), so there is no root entry: files owned by host root show as the overflow id 65534,
 * which is why `nobody` and `nogroup` exist. Name lookups use files only (nothing else is
 * reachable), and the hostname resolves to a loopback address like on Debian.
 */
export function etcFiles(hostname: string): readonly EtcFile[] {
  const { uid, gid, name, home } = SANDBOX_USER;
  const file = (fileName: string, lines: readonly string[]): EtcFile => ({
    name: fileName,
    mode: ETC_FILE_MODE,
    content: lines.map((line) => `${line}\n`).join(''),
  });
  return [
    file('passwd', [
      `${name}:x:${uid}:${gid}:${name}:${home}:/bin/bash`,
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
    ]),
    file('group', [`${name}:x:${gid}:`, 'nogroup:x:65534:']),
    file('hosts', ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `127.0.1.1\t${hostname}`]),
    file('hostname', [hostname]),
    file('nsswitch.conf', [
      'passwd: files',
      'group: files',
      'shadow: files',
      'hosts: files',
      'networks: files',
      'protocols: files',
      'services: files',
    ]),
  ];
}
