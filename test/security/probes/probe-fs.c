/*
 * Class A (files): what of the host's filesystem is reachable, what is writable, which device
 * nodes and file descriptors exist. The mount-table attacks live in probe-mounts.c.
 */
#include "probe.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static int is_pid_name(const char *name) {
  if (*name == '\0') return 0;
  for (const char *c = name; *c != '\0'; c++) {
    if (!isdigit((unsigned char)*c)) return 0;
  }
  return 1;
}

/* host-fs HOSTPATH...: host paths the test created must be absent, whether looked up from the
 * sandbox root or through any visible process's /proc/<pid>/root and /proc/<pid>/cwd. Every
 * root is either the sandbox's (own_roots counts them) or closed to us (root_closed=PID:ERRNO:
 * sandgate-init is not dumpable, so its /proc links need PTRACE_MODE_READ we lack). */
static int host_fs(int argc, char **argv) {
  struct stat own_root;
  if (stat("/", &own_root) != 0) {
    probe_fail("stat_root", "%s", errno_name(errno));
    return report_end();
  }
  for (int i = 0; i < argc; i++) {
    struct stat st;
    char key[64];
    snprintf(key, sizeof key, "path%d", i);
    if (stat(argv[i], &st) == 0) breach(key, "visible"); else note(key, "%s", errno_name(errno));
  }
  DIR *proc = opendir("/proc");
  if (proc == NULL) {
    probe_fail("opendir_proc", "%s", errno_name(errno));
    return report_end();
  }
  int pids = 0, foreign_roots = 0, own_roots = 0, reached = 0;
  struct dirent *entry;
  while ((entry = readdir(proc)) != NULL) {
    if (!is_pid_name(entry->d_name)) continue;
    pids++;
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%s/root", entry->d_name);
    if (stat(path, &st) != 0) {
      note("root_closed", "%s:%s", entry->d_name, errno_name(errno));
    } else if (st.st_dev != own_root.st_dev || st.st_ino != own_root.st_ino) {
      foreign_roots++;
      breach("foreign_root_pid", "%s", entry->d_name);
    } else {
      own_roots++;
    }
    for (int i = 0; i < argc; i++) {
      const char *via[] = {"root", "cwd"};
      for (size_t v = 0; v < 2; v++) {
        snprintf(path, sizeof path, "/proc/%s/%s%s", entry->d_name, via[v], argv[i]);
        if (stat(path, &st) == 0) {
          reached++;
          breach("reached_via", "/proc/%s/%s", entry->d_name, via[v]);
        }
      }
    }
  }
  closedir(proc);
  note("pids", "%d", pids);
  note("foreign_roots", "%d", foreign_roots);
  note("own_roots", "%d", own_roots);
  note("reached", "%d", reached);
  return report_end();
}

/* Appends the names in `dir` (sorted by readdir order, '.' entries skipped) as one value. */
static void note_listing(const char *key, const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    note(key, "%s", errno_name(errno));
    return;
  }
  char names[2048] = "";
  size_t used = 0;
  int count = 0;
  struct dirent *entry;
  while ((entry = readdir(d)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    int n = snprintf(names + used, sizeof names - used, "%s%s", count > 0 ? "," : "", entry->d_name);
    if (n > 0 && (size_t)n < sizeof names - used) used += (size_t)n;
    count++;
  }
  closedir(d);
  note(key, "%s", count == 0 ? "-" : names);
}

/* etc-files: the minimal root holds no host secrets; lists what is there for the test. */
static int etc_files(int argc, char **argv) {
  (void)argc;
  (void)argv;
  note_listing("root", "/");
  note_listing("etc", "/etc");
  note_listing("home", "/home");
  const char *secrets[] = {"/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssh", "/root", "/var/run/docker.sock",
                           "/run/docker.sock", "/etc/machine-id", "/etc/kubernetes"};
  int present = 0;
  for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
    struct stat st;
    if (lstat(secrets[i], &st) == 0) {
      present++;
      breach("present", "%s", secrets[i]);
    }
  }
  note("secrets_present", "%d", present);
  return report_end();
}

/* rootfs-write: the root tmpfs, the system binds and extra read-only binds refuse every write. */
static int rootfs_write(int argc, char **argv) {
  const char *defaults[] = {"/sg-probe-x", "/usr/sg-probe-x", "/usr/bin/sg-probe-x", "/etc/sg-probe-x",
                            "/lib/sg-probe-x", "/opt/sg-probe/sg-probe-x", "/dev/sg-probe-x", "/proc/sg-probe-x"};
  const char **paths = defaults;
  size_t count = sizeof defaults / sizeof defaults[0];
  if (argc > 0) {
    paths = (const char **)argv;
    count = (size_t)argc;
  }
  for (size_t i = 0; i < count; i++) {
    char key[300];
    snprintf(key, sizeof key, "create:%s", paths[i]);
    int fd = open(paths[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      close(fd);
      unlink(paths[i]);
    }
    expect_refused(key, fd);
  }
  expect_refused("append:/etc/passwd", open("/etc/passwd", O_WRONLY | O_APPEND | O_CLOEXEC));
  expect_refused("write:/usr/bin/true", open("/usr/bin/true", O_WRONLY | O_CLOEXEC));
  expect_refused("mkdir:/sg-probe-d", mkdir("/sg-probe-d", 0755));
  expect_refused("symlink:/sg-probe-l", symlink("/tmp", "/sg-probe-l"));
  expect_refused("chmod:/etc/hostname", chmod("/etc/hostname", 0666));
  expect_refused("unlink:/etc/hostname", unlink("/etc/hostname"));
  expect_refused("rename:/etc/hosts", rename("/etc/hosts", "/etc/hosts.sg"));
  expect_refused("utimens:/usr/bin/true", utimensat(AT_FDCWD, "/usr/bin/true", NULL, 0));
  return report_end();
}

/* fd-leak: nothing of the gateway or launcher is inherited: only 0, 1 and 2 are open. */
static int fd_leak(int argc, char **argv) {
  (void)argc;
  (void)argv;
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) {
    probe_fail("opendir", "%s", errno_name(errno));
    return report_end();
  }
  int own = dirfd(d);
  char open_fds[1024] = "";
  size_t used = 0;
  struct dirent *entry;
  while ((entry = readdir(d)) != NULL) {
    if (!is_pid_name(entry->d_name) || atoi(entry->d_name) == own) continue;
    int n = snprintf(open_fds + used, sizeof open_fds - used, "%s%s", used > 0 ? "," : "", entry->d_name);
    if (n > 0 && (size_t)n < sizeof open_fds - used) used += (size_t)n;
    int fd = atoi(entry->d_name);
    if (fd > 2) {
      char target[256] = "";
      char link[64];
      snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
      ssize_t len = readlink(link, target, sizeof target - 1);
      if (len > 0) target[len] = '\0';
      breach("leaked", "%d:%s", fd, target);
    }
  }
  closedir(d);
  note("fds", "%s", open_fds);
  /* Belt and braces: probe every descriptor number up to the soft limit directly. */
  struct rlimit lim;
  long max_fd = 65536;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY && (long)lim.rlim_cur < max_fd) {
    max_fd = (long)lim.rlim_cur;
  }
  int extra = 0;
  for (int fd = 3; fd < max_fd; fd++) {
    if (fcntl(fd, F_GETFD) >= 0) extra++;
  }
  if (extra > 0) breach("fcntl_open", "%d", extra); else note("fcntl_open", "0");
  return report_end();
}

/* mknod: no device node can be created, in any writable place. */
static int mknod_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct { const char *path; mode_t type; unsigned major, minor; } nodes[] = {
      {"/tmp/sg-mem", S_IFCHR, 1, 1},      {"/tmp/sg-kmsg", S_IFCHR, 1, 11},
      {"/tmp/sg-sda", S_IFBLK, 8, 0},      {"/home/user/sg-tun", S_IFCHR, 10, 200},
      {"/dev/shm/sg-null", S_IFCHR, 1, 3}, {"/dev/sg-fuse", S_IFCHR, 10, 229},
  };
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    int rc = mknod(nodes[i].path, nodes[i].type | 0666, makedev(nodes[i].major, nodes[i].minor));
    if (rc == 0) unlink(nodes[i].path);
    char key[300];
    snprintf(key, sizeof key, "%s", nodes[i].path);
    expect_refused(key, rc);
  }
  /* A FIFO is not a device: allowed, noted only to show mknod itself reached the kernel. */
  int fifo = mknod("/tmp/sg-fifo", S_IFIFO | 0600, 0);
  note("fifo", "%s", fifo == 0 ? "OK" : errno_name(errno));
  if (fifo == 0) unlink("/tmp/sg-fifo");
  return report_end();
}

/* xattr-privileged [DIR...]: no file capability (security.capability) and no trusted.*
 * attribute can be written, on the sandbox's tmpfs or on a writable bind (setxattr(2) is
 * allowed by the filter; the kernel wants CAP_SETFCAP / CAP_SYS_ADMIN). */
static int xattr_privileged(int argc, char **argv) {
  const char *defaults[] = {"/tmp"};
  const char **dirs = argc > 0 ? (const char **)argv : defaults;
  int count = argc > 0 ? argc : 1;
  /* struct vfs_cap_data, revision 2, effective, permitted = CAP_SYS_ADMIN (bit 21). */
  const uint32_t fcap[5] = {0x02000001, 1u << 21, 0, 0, 0};
  for (int i = 0; i < count; i++) {
    char path[512], key[600];
    snprintf(path, sizeof path, "%s/sg-xattr", dirs[i]);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (fd < 0) {
      probe_fail(dirs[i], "%s", errno_name(errno));
      continue;
    }
    close(fd);
    snprintf(key, sizeof key, "fcap:%s", dirs[i]);
    expect_refused(key, setxattr(path, "security.capability", fcap, sizeof fcap, 0));
    snprintf(key, sizeof key, "trusted:%s", dirs[i]);
    expect_refused(key, setxattr(path, "trusted.sg", "1", 1, 0));
    snprintf(key, sizeof key, "user:%s", dirs[i]);
    note(key, "%s", setxattr(path, "user.sg", "1", 1, 0) == 0 ? "OK" : errno_name(errno)); /* control */
    unlink(path);
  }
  return report_end();
}

struct allowed_dev { const char *name; unsigned major, minor; };

/* The only device nodes a sandbox's /dev may hold (launcher-contract.md, proc-dev step). */
static const struct allowed_dev allowed_devs[] = {
    {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9},
    {"tty", 5, 0},  {"ptmx", 5, 2},
};

static int allowed_device(const char *name, const struct stat *st) {
  unsigned maj = major(st->st_rdev), min = minor(st->st_rdev);
  for (size_t i = 0; i < sizeof allowed_devs / sizeof allowed_devs[0]; i++) {
    if (strcmp(name, allowed_devs[i].name) == 0 && maj == allowed_devs[i].major && min == allowed_devs[i].minor) return 1;
  }
  /* The session's own PTY (bound on /dev/console) and its own devpts slaves: UNIX98 PTY
   * slave majors 136-143 (Documentation/admin-guide/devices.txt). */
  if (S_ISCHR(st->st_mode) && maj >= 136 && maj <= 143 && (strcmp(name, "console") == 0 || isdigit((unsigned char)name[0]))) return 1;
  return 0;
}

static void check_dev_dir(const char *dir, int *devices, int *foreign) {
  DIR *d = opendir(dir);
  if (d == NULL) return;
  struct dirent *entry;
  while ((entry = readdir(d)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
    struct stat st;
    if (lstat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode) && strcmp(dir, "/dev") == 0) {
      check_dev_dir(path, devices, foreign);
      continue;
    }
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) continue;
    (*devices)++;
    if (!allowed_device(entry->d_name, &st)) {
      (*foreign)++;
      breach("device", "%s:%c%u:%u", path, S_ISBLK(st.st_mode) ? 'b' : 'c', major(st.st_rdev), minor(st.st_rdev));
    }
  }
  closedir(d);
}

/* dev-nodes: dangerous nodes are absent and /dev holds nothing beyond the allowed set. */
static int dev_nodes(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const char *forbidden[] = {"/dev/mem",  "/dev/kmem",     "/dev/port",     "/dev/kmsg",  "/dev/sda",
                             "/dev/sda1", "/dev/vda",      "/dev/nvme0n1",  "/dev/net/tun", "/dev/fuse",
                             "/dev/loop0", "/dev/loop-control", "/dev/mapper/control", "/dev/cpu/0/msr",
                             "/dev/userfaultfd", "/dev/kvm", "/dev/vsock", "/dev/vhost-vsock", "/dev/tty0",
                             "/dev/tty1", "/dev/vcs", "/dev/ttyS0", "/dev/hwrng", "/dev/dri", "/dev/input"};
  int present = 0;
  for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++) {
    struct stat st;
    if (lstat(forbidden[i], &st) == 0) {
      present++;
      breach("present", "%s", forbidden[i]);
    }
  }
  note("forbidden_present", "%d", present);
  int devices = 0, foreign = 0;
  check_dev_dir("/dev", &devices, &foreign);
  note("devices", "%d", devices);
  note("foreign_devices", "%d", foreign);
  note_listing("dev", "/dev");
  return report_end();
}

const struct probe fs_probes[] = {
    {"host-fs", 'A', host_fs, "host paths unreachable from / and every /proc/<pid>/{root,cwd}"},
    {"etc-files", 'A', etc_files, "minimal root: no host secrets in /, /etc, /home, /root"},
    {"rootfs-write", 'A', rootfs_write, "writes to the root, system binds and ro binds are refused"},
    {"fd-leak", 'A', fd_leak, "only fds 0, 1, 2 are open"},
    {"mknod", 'A', mknod_probe, "device nodes cannot be created"},
    {"dev-nodes", 'A', dev_nodes, "no dangerous device nodes; /dev holds only the allowed set"},
    {"xattr-privileged", 'A', xattr_privileged, "security.capability and trusted.* xattrs cannot be written"},
    PROBE_TABLE_END,
};
