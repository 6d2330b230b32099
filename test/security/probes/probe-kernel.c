/*
 * Class B (privilege and namespaces): no capability in any set, no_new_privs and a seccomp
 * filter in force, an unprivileged 1:1 uid mapping, and no way to make or enter a namespace,
 * chroot or pivot_root.
 */
#include "probe.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* caps: CapInh/Prm/Eff/Bnd/Amb are all zero in /proc/self/status and via capget(2); the
 * real, effective and saved uids are the unprivileged sandbox user (also when exec'd from a
 * setuid-root or file-capability copy of this binary). */
int caps_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  char status[8192];
  if (read_small_file("/proc/self/status", status, sizeof status) <= 0) {
    probe_fail("status", "%s", errno_name(errno));
    return report_end();
  }
  const char *sets[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
  for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
    char label[16];
    snprintf(label, sizeof label, "\n%s:", sets[i]);
    char *at = strstr(status, label);
    unsigned long long value = at != NULL ? strtoull(at + strlen(label), NULL, 16) : ~0ULL;
    if (value != 0) breach(sets[i], "%llx", value); else note(sets[i], "0");
  }
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  if (syscall(SYS_capget, &header, data) != 0) {
    probe_fail("capget", "%s", errno_name(errno));
  } else if (data[0].effective | data[0].permitted | data[0].inheritable | data[1].effective | data[1].permitted |
             data[1].inheritable) {
    breach("capget", "nonzero");
  } else {
    note("capget", "0");
  }
  int bounding = 0, ambient = 0;
  for (int cap = 0; cap < 64; cap++) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1) bounding++;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1) ambient++;
  }
  if (bounding > 0) breach("bounding_caps", "%d", bounding); else note("bounding_caps", "0");
  if (ambient > 0) breach("ambient_caps", "%d", ambient); else note("ambient_caps", "0");
  uid_t ruid, euid, suid;
  getresuid(&ruid, &euid, &suid);
  if (ruid == 0 || euid == 0 || suid == 0 || euid != ruid || suid != ruid) breach("uids", "%u:%u:%u", ruid, euid, suid);
  else note("uids", "%u:%u:%u", ruid, euid, suid);
  gid_t rgid, egid, sgid;
  getresgid(&rgid, &egid, &sgid);
  if (rgid == 0 || egid == 0 || sgid == 0 || egid != rgid) breach("gids", "%u:%u:%u", rgid, egid, sgid);
  else note("gids", "%u:%u:%u", rgid, egid, sgid);
  note("securebits", "%d", prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
  return report_end();
}

static long status_field(const char *status, const char *name) {
  char label[64];
  snprintf(label, sizeof label, "\n%s:", name);
  const char *at = strstr(status, label);
  return at != NULL ? strtol(at + strlen(label), NULL, 10) : -1;
}

/* nnp-seccomp: no_new_privs is set and a seccomp filter (mode 2) is active. */
static int nnp_seccomp(int argc, char **argv) {
  (void)argc;
  (void)argv;
  char status[8192];
  if (read_small_file("/proc/self/status", status, sizeof status) <= 0) {
    probe_fail("status", "%s", errno_name(errno));
    return report_end();
  }
  long nnp = status_field(status, "NoNewPrivs");
  long mode = status_field(status, "Seccomp");
  long filters = status_field(status, "Seccomp_filters");
  if (nnp != 1) breach("NoNewPrivs", "%ld", nnp); else note("NoNewPrivs", "1");
  if (mode != 2) breach("Seccomp", "%ld", mode); else note("Seccomp", "2");
  if (filters < 1) breach("Seccomp_filters", "%ld", filters); else note("Seccomp_filters", "%ld", filters);
  note("prctl_nnp", "%d", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  /* no_new_privs is one-way (prctl(2)): clearing it must fail and leave it set. */
  expect_refused("clear_nnp", prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0));
  if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) breach("nnp_after", "0"); else note("nnp_after", "1");
  return report_end();
}

/* Parses the single line of a uid_map/gid_map; breach unless it is "<inside> <host> 1" with
 * an unprivileged host id. */
static void check_id_map(const char *path, const char *key) {
  char buf[1024];
  if (read_small_file(path, buf, sizeof buf) <= 0) {
    probe_fail(key, "%s", errno_name(errno));
    return;
  }
  int lines = 0;
  for (char *c = buf; *c != '\0'; c++) lines += (*c == '\n');
  unsigned long inside = 0, host = 0, count = 0;
  if (sscanf(buf, " %lu %lu %lu", &inside, &host, &count) != 3) {
    probe_fail(key, "unparsable");
    return;
  }
  if (lines != 1 || count != 1 || host == 0 || inside == 0) breach(key, "%lu:%lu:%lu:lines%d", inside, host, count, lines);
  else note(key, "%lu:%lu:%lu", inside, host, count);
}

/* uid-map: exactly one mapping line `1000 <hostuid> 1`; setgroups is denied. */
static int uid_map(int argc, char **argv) {
  (void)argc;
  (void)argv;
  check_id_map("/proc/self/uid_map", "uid_map");
  check_id_map("/proc/self/gid_map", "gid_map");
  char buf[64];
  if (read_small_file("/proc/self/setgroups", buf, sizeof buf) > 0) {
    buf[strcspn(buf, "\n")] = '\0';
    note("setgroups", "%s", buf);
  } else {
    note("setgroups", "%s", errno_name(errno));
  }
  return report_end();
}

/* setuid: the sandbox user cannot become root or change its groups. */
static int setuid_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  expect_refused("setuid0", setuid(0));
  expect_refused("setresuid0", setresuid(0, 0, 0));
  expect_refused("setgid0", setgid(0));
  expect_refused("setgroups", setgroups(0, NULL));
  expect_refused("setreuid_other", setreuid(4242, 4242));
  uid_t r, e, s;
  getresuid(&r, &e, &s);
  note("uids_after", "%u:%u:%u", r, e, s);
  return report_end();
}

/* ns-ids: prints the namespace ids; the test checks each differs from the host's. */
static int ns_ids(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const char *kinds[] = {"user", "pid", "mnt", "net", "uts", "ipc", "cgroup", "time"};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    char path[64], target[128];
    snprintf(path, sizeof path, "/proc/self/ns/%s", kinds[i]);
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0) {
      note(kinds[i], "%s", errno_name(errno));
      continue;
    }
    target[n] = '\0';
    char *open = strchr(target, '[');
    note(kinds[i], "%s", open != NULL ? strtok(open + 1, "]") : target);
  }
  return report_end();
}

struct ns_flag { const char *name; long flag; };
/* CLONE_NEWTIME shares its bit with CSIGNAL in clone(2): it is only valid for unshare(2) and
 * clone3(2) (man 2 clone), so the clone list stops before it. */
static const struct ns_flag ns_flags[] = {
    {"NEWUSER", CLONE_NEWUSER}, {"NEWNS", CLONE_NEWNS},   {"NEWPID", CLONE_NEWPID},
    {"NEWNET", CLONE_NEWNET},   {"NEWUTS", CLONE_NEWUTS}, {"NEWIPC", CLONE_NEWIPC},
    {"NEWCGROUP", CLONE_NEWCGROUP}, {"NEWUSER|NEWNS", CLONE_NEWUSER | CLONE_NEWNS}, {"NEWTIME", CLONE_NEWTIME},
};
#define CLONE_NS_FLAGS (sizeof ns_flags / sizeof ns_flags[0] - 1)

static int try_unshare(void *arg) {
  long flag = *(const long *)arg;
  return syscall(SYS_unshare, flag) == 0 ? 0 : errno;
}

/* unshare: unshare(2) of every namespace flag is refused. */
static int unshare_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  for (size_t i = 0; i < sizeof ns_flags / sizeof ns_flags[0]; i++) {
    char result[64];
    long flag = ns_flags[i].flag;
    if (run_in_child(try_unshare, &flag, result, sizeof result)) breach(ns_flags[i].name, "OK");
    else note(ns_flags[i].name, "%s", result);
  }
  return report_end();
}

static int try_clone(void *arg) {
  long flags = *(const long *)arg | SIGCHLD;
  long pid = syscall(SYS_clone, flags, 0L, 0L, 0L, 0L);
  if (pid == 0) _exit(0);
  if (pid < 0) return errno;
  waitpid((pid_t)pid, NULL, 0);
  return 0;
}

/* clone-ns: clone(2) with any namespace flag is refused, also with junk in the upper 32 bits
 * of the flags (the kernel reads only the lower 32, kernel/fork.c: a filter comparing all 64
 * would let NEWUSER through). */
static int clone_ns(int argc, char **argv) {
  (void)argc;
  (void)argv;
  for (size_t i = 0; i < CLONE_NS_FLAGS; i++) {
    char result[64];
    long flag = ns_flags[i].flag;
    if (run_in_child(try_clone, &flag, result, sizeof result)) breach(ns_flags[i].name, "OK");
    else note(ns_flags[i].name, "%s", result);
  }
  char result[64];
  long high = (long)(1UL << 32) | CLONE_NEWUSER;
  if (run_in_child(try_clone, &high, result, sizeof result)) breach("NEWUSER_hi32", "OK");
  else note("NEWUSER_hi32", "%s", result);
  return report_end();
}

/* struct clone_args, CLONE_ARGS_SIZE_VER0 (include/uapi/linux/sched.h). */
struct clone_args_v0 {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static int try_clone3(void *arg) {
  struct clone_args_v0 args;
  memset(&args, 0, sizeof args);
  args.flags = (uint64_t)*(const long *)arg;
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) _exit(0);
  if (pid < 0) return errno;
  waitpid((pid_t)pid, NULL, 0);
  return 0;
}

/* clone3: refused as a whole with ENOSYS (its flags live in memory that seccomp cannot
 * inspect, so libc must fall back to clone(2), whose flags it can). */
static int clone3_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  char result[64];
  long plain = 0, newuser = CLONE_NEWUSER;
  run_in_child(try_clone3, &plain, result, sizeof result);
  note("plain", "%s", result);
  if (run_in_child(try_clone3, &newuser, result, sizeof result)) breach("NEWUSER", "OK");
  else note("NEWUSER", "%s", result);
  return report_end();
}

static int try_setns(void *arg) {
  const int *fd = arg;
  return setns(*fd, 0) == 0 ? 0 : errno;
}

static int try_setns_pidfd(void *arg) {
  const pid_t *pid = arg;
  int fd = (int)syscall(SYS_pidfd_open, *pid, 0);
  if (fd < 0) return errno;
  return setns(fd, CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC) == 0 ? 0 : errno;
}

/* setns: entering any namespace is refused: by our own ns files, by those of a peer (another
 * process of the sandbox user, forked here: reached through another process's /proc entry),
 * and by pidfd (of PID 1 and of the peer). Each ns file is opened here first and only
 * setns(2) runs in the child, so the answer is setns's own; a failed open is reported as
 * open_<ERRNO>. (sandgate-init is not dumpable: its /proc/1/ns files are EACCES to open,
 * which would prove nothing about setns.) */
static int setns_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) != 0) {
    probe_fail("pipe", "%s", errno_name(errno));
    return report_end();
  }
  pid_t peer = fork();
  if (peer == 0) {
    close(gate[1]);
    char c;
    while (read(gate[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  close(gate[0]);
  if (peer < 0) {
    probe_fail("fork", "%s", errno_name(errno));
    return report_end();
  }
  char peer_name[16];
  snprintf(peer_name, sizeof peer_name, "%d", (int)peer);
  const char *kinds[] = {"user", "mnt", "pid", "net", "uts", "ipc", "cgroup", "time"};
  const char *owners[][2] = {{"self", "self"}, {"peer", peer_name}};
  for (size_t o = 0; o < 2; o++) {
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
      char path[64], key[64], result[64];
      snprintf(path, sizeof path, "/proc/%s/ns/%s", owners[o][1], kinds[i]);
      snprintf(key, sizeof key, "%s:%s", owners[o][0], kinds[i]);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        probe_fail(key, "open_%s", errno_name(errno));
        continue;
      }
      if (run_in_child(try_setns, &fd, result, sizeof result)) breach(key, "OK"); else note(key, "%s", result);
      close(fd);
    }
  }
  char result[64];
  pid_t init = 1;
  if (run_in_child(try_setns_pidfd, &init, result, sizeof result)) breach("pidfd1", "OK"); else note("pidfd1", "%s", result);
  if (run_in_child(try_setns_pidfd, &peer, result, sizeof result)) breach("pidfd_peer", "OK"); else note("pidfd_peer", "%s", result);
  close(gate[1]);
  waitpid(peer, NULL, 0);
  return report_end();
}

/* chroot: chroot(2) is refused (CAP_SYS_CHROOT is gone). */
static int chroot_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  expect_refused("tmp", chroot("/tmp"));
  expect_refused("root", chroot("/"));
  return report_end();
}

/* pivot-root: pivot_root(2) is refused, including the pivot_root(".", ".") idiom. */
static int pivot_root_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  mkdir("/tmp/sg-old", 0755);
  expect_refused("tmp", syscall(SYS_pivot_root, "/tmp", "/tmp/sg-old"));
  if (chdir("/") == 0) expect_refused("dot", syscall(SYS_pivot_root, ".", "."));
  return report_end();
}

const struct probe kernel_probes[] = {
    {"caps", 'B', caps_probe, "no capability in any set; uids unprivileged"},
    {"nnp-seccomp", 'B', nnp_seccomp, "no_new_privs=1 and Seccomp=2"},
    {"uid-map", 'B', uid_map, "uid_map/gid_map: one line, unprivileged host id; setgroups deny"},
    {"setuid", 'B', setuid_probe, "setuid(0)/setgroups refused"},
    {"ns-ids", 'B', ns_ids, "namespace ids (compared with the host's by the test)"},
    {"unshare", 'B', unshare_probe, "unshare(2) of every namespace flag refused"},
    {"clone-ns", 'B', clone_ns, "clone(2) with namespace flags refused"},
    {"clone3", 'B', clone3_probe, "clone3(2) refused with ENOSYS"},
    {"setns", 'B', setns_probe, "setns(2) into any namespace refused"},
    {"chroot", 'B', chroot_probe, "chroot(2) refused"},
    {"pivot-root", 'B', pivot_root_probe, "pivot_root(2) refused"},
    PROBE_TABLE_END,
};
