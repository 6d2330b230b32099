/*
 * Class A (/proc): host processes are invisible, /proc/sys and /proc/sysrq-trigger are
 * read-only, and the information leaks Docker masks (kcore, keys, timer_list…) are masked.
 */
#include "probe.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int is_pid_name(const char *name) {
  if (*name == '\0') return 0;
  for (const char *c = name; *c != '\0'; c++) {
    if (!isdigit((unsigned char)*c)) return 0;
  }
  return 1;
}

static int contains(const char *haystack, size_t len, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; n > 0 && i + n <= len; i++) {
    if (memcmp(haystack + i, needle, n) == 0) return 1;
  }
  return 0;
}

/* proc-scan REVERSED_MARKER: no visible process carries the marker the test put on a host
 * process's command line; every visible process runs as the sandbox user. */
static int proc_scan(int argc, char **argv) {
  if (argc < 1) {
    probe_fail("usage", "proc-scan_REVERSED_MARKER");
    return report_end();
  }
  const char *marker = reversed(argv[0]);
  DIR *proc = opendir("/proc");
  if (proc == NULL) {
    probe_fail("opendir_proc", "%s", errno_name(errno));
    return report_end();
  }
  int pids = 0, max_pid = 0, not_sandbox_user = 0;
  struct dirent *entry;
  while ((entry = readdir(proc)) != NULL) {
    if (!is_pid_name(entry->d_name)) continue;
    pids++;
    int pid = atoi(entry->d_name);
    if (pid > max_pid) max_pid = pid;
    char path[300], buf[8192];
    snprintf(path, sizeof path, "/proc/%s/cmdline", entry->d_name);
    long n = read_small_file(path, buf, sizeof buf);
    if (n > 0 && contains(buf, (size_t)n, marker)) breach("marker_pid", "%s", entry->d_name);
    snprintf(path, sizeof path, "/proc/%s/status", entry->d_name);
    n = read_small_file(path, buf, sizeof buf);
    char *uid = n > 0 ? strstr(buf, "\nUid:") : NULL;
    unsigned real = 0, eff = 0;
    if (uid != NULL && sscanf(uid, "\nUid: %u %u", &real, &eff) == 2 && (real != getuid() || eff != getuid())) {
      not_sandbox_user++;
    }
  }
  closedir(proc);
  note("pids", "%d", pids);
  note("max_pid", "%d", max_pid);
  note("other_users", "%d", not_sandbox_user);
  return report_end();
}

/* proc-sys-write: /proc/sys (and Docker's other read-only /proc paths) are read-only binds:
 * no file there opens for writing. */
static int proc_sys_write(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const char *files[] = {"/proc/sys/kernel/core_pattern", "/proc/sys/kernel/modprobe", "/proc/sys/kernel/hostname",
                         "/proc/sys/vm/drop_caches", "/proc/sys/kernel/sysrq", "/proc/sys/fs/binfmt_misc/register",
                         "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/ns_last_pid", "/proc/sys/user/max_user_namespaces",
                         "/proc/irq/default_smp_affinity"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    int fd = open(files[i], O_WRONLY | O_CLOEXEC);
    if (fd >= 0) close(fd);
    expect_refused(files[i], fd);
  }
  /* Docker's read-only /proc paths: each a read-only bind (missing ones: ENOENT). */
  const char *mounts[] = {"/proc/sys", "/proc/bus", "/proc/fs", "/proc/irq"};
  for (size_t i = 0; i < sizeof mounts / sizeof mounts[0]; i++) {
    char key[64];
    snprintf(key, sizeof key, "mount:%s", mounts[i]);
    struct statvfs vfs;
    if (statvfs(mounts[i], &vfs) != 0) note(key, "%s", errno_name(errno));
    else if (vfs.f_flag & ST_RDONLY) note(key, "readonly");
    else breach(key, "writable");
  }
  return report_end();
}

/* sysrq-trigger: /proc/sysrq-trigger cannot be opened for writing, or is masked by /dev/null
 * (then a write lands there: harmless). Opening the real file for writing is the breach. */
static int sysrq_trigger(int argc, char **argv) {
  (void)argc;
  (void)argv;
  int fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    note("open_wronly", "%s", errno_name(errno));
  } else {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3) {
      note("open_wronly", "dev_null");
    } else {
      breach("open_wronly", "real_file"); /* nothing is written: the open alone is the finding */
    }
    close(fd);
  }
  struct statvfs vfs;
  if (statvfs("/proc/sysrq-trigger", &vfs) != 0) note("mount", "%s", errno_name(errno));
  else note("mount", "%s", (vfs.f_flag & ST_RDONLY) ? "readonly" : "writable");
  return report_end();
}

/* Reads a masked file: "empty" (bound /dev/null), an errno, or a breach with its size. */
static void check_masked_file(const char *path) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    note(path, "%s", errno_name(errno));
    return;
  }
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf);
  int err = errno;
  close(fd);
  if (n > 0) breach(path, "readable:%zd", n);
  else if (n == 0) note(path, "empty");
  else note(path, "%s", errno_name(err));
}

static void check_masked_dir(const char *path) {
  DIR *d = opendir(path);
  if (d == NULL) {
    note(path, "%s", errno_name(errno));
    return;
  }
  int entries = 0;
  struct dirent *entry;
  while ((entry = readdir(d)) != NULL) {
    if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) entries++;
  }
  closedir(d);
  if (entries > 0) breach(path, "entries:%d", entries); else note(path, "empty");
}

/* proc-masked: Docker's masked /proc paths read as empty (or are absent). */
static int proc_masked(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const char *files[] = {"/proc/kcore", "/proc/keys", "/proc/key-users", "/proc/timer_list", "/proc/timer_stats",
                         "/proc/sched_debug", "/proc/latency_stats", "/proc/kmsg", "/proc/vmcore"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) check_masked_file(files[i]);
  const char *dirs[] = {"/proc/acpi", "/proc/scsi", "/proc/asound"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) check_masked_dir(dirs[i]);
  return report_end();
}

/* kallsyms: kernel addresses are hidden from the sandbox user (kptr_restrict): all zero. */
static int kallsyms(int argc, char **argv) {
  (void)argc;
  (void)argv;
  FILE *f = fopen("/proc/kallsyms", "re");
  if (f == NULL) {
    note("kallsyms", "%s", errno_name(errno));
    return report_end();
  }
  char row[512];
  long lines = 0, nonzero = 0;
  while (lines < 200000 && fgets(row, sizeof row, f) != NULL) {
    lines++;
    if (strtoull(row, NULL, 16) != 0) nonzero++;
  }
  fclose(f);
  note("lines", "%ld", lines);
  if (nonzero > 0) breach("nonzero_addresses", "%ld", nonzero); else note("nonzero_addresses", "0");
  return report_end();
}

const struct probe proc_probes[] = {
    {"proc-scan", 'A', proc_scan, "no host process (marker) visible; all processes are the sandbox user"},
    {"proc-sys-write", 'A', proc_sys_write, "/proc/sys files refuse writes"},
    {"sysrq-trigger", 'A', sysrq_trigger, "/proc/sysrq-trigger refuses writes"},
    {"proc-masked", 'A', proc_masked, "kcore, keys, timer_list, sched_debug… masked"},
    {"kallsyms", 'A', kallsyms, "/proc/kallsyms shows no kernel addresses"},
    PROBE_TABLE_END,
};
