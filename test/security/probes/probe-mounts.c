/*
 * Class A (mounts): every way to change the mount table is refused: mount(2), remounts of
 * read-only binds, umount of masks, the new mount API (fsopen & co.), cgroup v1 release_agent
 * and writes under /sys.
 */
#include "probe.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/mount.h>

/* mount: no filesystem of any type can be mounted and nothing can be bind-mounted. */
static int mount_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  mkdir("/tmp/sg-mnt", 0755);
  expect_refused("tmpfs", mount("x", "/tmp/sg-mnt", "tmpfs", 0, "size=1m"));
  expect_refused("proc", mount("proc", "/tmp/sg-mnt", "proc", 0, NULL));
  expect_refused("sysfs", mount("sysfs", "/tmp/sg-mnt", "sysfs", 0, NULL));
  expect_refused("cgroup", mount("cgroup", "/tmp/sg-mnt", "cgroup", 0, "memory"));
  expect_refused("cgroup2", mount("cgroup2", "/tmp/sg-mnt", "cgroup2", 0, NULL));
  expect_refused("devpts", mount("devpts", "/tmp/sg-mnt", "devpts", 0, "newinstance"));
  expect_refused("bind_root", mount("/", "/tmp/sg-mnt", NULL, MS_BIND | MS_REC, NULL));
  expect_refused("make_shared", mount(NULL, "/", NULL, MS_SHARED | MS_REC, NULL));
  return report_end();
}

/* remount-rw [PATH...]: read-only mounts cannot be remounted writable, and stay read-only. */
static int remount_rw(int argc, char **argv) {
  const char *defaults[] = {"/", "/usr", "/etc", "/proc/sys", "/opt/sg-probe"};
  const char **paths = defaults;
  size_t count = sizeof defaults / sizeof defaults[0];
  if (argc > 0) {
    paths = (const char **)argv;
    count = (size_t)argc;
  }
  for (size_t i = 0; i < count; i++) {
    char key[300];
    snprintf(key, sizeof key, "remount:%s", paths[i]);
    expect_refused(key, mount(NULL, paths[i], NULL, MS_REMOUNT | MS_BIND, NULL));
    snprintf(key, sizeof key, "remount_fs:%s", paths[i]);
    expect_refused(key, mount(NULL, paths[i], NULL, MS_REMOUNT, NULL));
    struct statvfs vfs;
    snprintf(key, sizeof key, "rdonly:%s", paths[i]);
    if (statvfs(paths[i], &vfs) != 0) {
      note(key, "%s", errno_name(errno));
    } else if (vfs.f_flag & ST_RDONLY) {
      note(key, "yes");
    } else {
      breach(key, "no");
    }
  }
  return report_end();
}

/* umount: masks and mounts cannot be removed (a gone mask would expose /proc/kcore & co.). */
static int umount_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  const char *targets[] = {"/proc/kcore", "/proc/sys", "/proc/sysrq-trigger", "/proc", "/dev/pts", "/usr", "/"};
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
    char key[128];
    snprintf(key, sizeof key, "%s", targets[i]);
    expect_refused(key, umount2(targets[i], MNT_DETACH));
  }
  struct stat st;
  if (stat("/proc/kcore", &st) == 0 && S_ISREG(st.st_mode)) breach("kcore_after", "regular"); else note("kcore_after", "masked");
  return report_end();
}

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif

/* new-mount-api: fsopen, fspick, open_tree(CLONE), move_mount, mount_setattr are refused. */
static int new_mount_api(int argc, char **argv) {
  (void)argc;
  (void)argv;
  long fd = syscall(SYS_fsopen, "tmpfs", 0);
  expect_refused("fsopen", fd);
  if (fd >= 0) {
    long created = syscall(SYS_fsconfig, fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
    long mnt = created == 0 ? syscall(SYS_fsmount, fd, 0, 0) : -1;
    if (mnt >= 0) {
      breach("fsmount", "OK");
      close((int)mnt);
    }
    close((int)fd);
  }
  fd = syscall(SYS_fspick, AT_FDCWD, "/", 0);
  expect_refused("fspick", fd);
  if (fd >= 0) close((int)fd);
  fd = syscall(SYS_open_tree, AT_FDCWD, "/usr", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  expect_refused("open_tree_clone", fd);
  if (fd >= 0) close((int)fd);
  mkdir("/tmp/sg-mnt", 0755);
  expect_refused("move_mount", syscall(SYS_move_mount, AT_FDCWD, "/usr", AT_FDCWD, "/tmp/sg-mnt", 0));
  struct mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_clr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  expect_refused("mount_setattr", syscall(SYS_mount_setattr, AT_FDCWD, "/usr", 0, &attr, sizeof attr));
  return report_end();
}

/* cgroup-release-agent: no release_agent is writable and no cgroup v1 hierarchy can be
 * mounted to reach one (the classic CVE-2022-0492 escape). */
static int cgroup_release_agent(int argc, char **argv) {
  (void)argc;
  (void)argv;
  FILE *mi = fopen("/proc/self/mountinfo", "re");
  int cgroup_mounts = 0;
  if (mi != NULL) {
    char row[4096];
    while (fgets(row, sizeof row, mi) != NULL) {
      char *sep = strstr(row, " - ");
      if (sep == NULL || (strncmp(sep + 3, "cgroup ", 7) != 0 && strncmp(sep + 3, "cgroup2 ", 8) != 0)) continue;
      cgroup_mounts++;
      char mount_point[1024];
      if (sscanf(row, "%*s %*s %*s %*s %1023s", mount_point) != 1) continue;
      char path[1100];
      snprintf(path, sizeof path, "%s/release_agent", mount_point);
      int fd = open(path, O_WRONLY | O_CLOEXEC);
      if (fd >= 0) close(fd);
      expect_refused(path, fd);
    }
    fclose(mi);
  }
  note("cgroup_mounts", "%d", cgroup_mounts);
  const char *known[] = {"/sys/fs/cgroup/release_agent", "/sys/fs/cgroup/memory/release_agent",
                         "/sys/fs/cgroup/rdma/release_agent", "/sys/fs/cgroup/systemd/release_agent"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
    int fd = open(known[i], O_WRONLY | O_CLOEXEC);
    if (fd >= 0) close(fd);
    expect_refused(known[i], fd);
  }
  mkdir("/tmp/sg-cg", 0755);
  expect_refused("mount_rdma", mount("cgroup", "/tmp/sg-cg", "cgroup", 0, "rdma"));
  expect_refused("mount_none", mount("cgroup", "/tmp/sg-cg", "cgroup", 0, "none,name=sg"));
  /* The cgroup namespace roots the view at the sandbox's own cgroup: every path is "/". */
  char own[4096];
  long n = read_small_file("/proc/self/cgroup", own, sizeof own);
  int foreign_paths = 0;
  for (char *row = own; n > 0 && row != NULL && *row != '\0';) {
    char *end = strchr(row, '\n');
    if (end != NULL) *end = '\0';
    char *last = strrchr(row, ':');
    if (last != NULL && strcmp(last, ":/") != 0) foreign_paths++;
    row = end != NULL ? end + 1 : NULL;
  }
  note("cgroup_paths_not_root", "%d", foreign_paths);
  return report_end();
}

/* sys-readonly: /sys is absent or read-only; its control files cannot be opened for writing. */
static int sys_readonly(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct statvfs vfs;
  if (statvfs("/sys", &vfs) != 0) {
    note("sys", "%s", errno_name(errno));
  } else {
    note("sys", "%s", (vfs.f_flag & ST_RDONLY) ? "readonly" : "writable_mount");
  }
  const char *files[] = {"/sys/kernel/uevent_helper", "/sys/power/state", "/sys/kernel/mm/transparent_hugepage/enabled",
                         "/sys/class/net/lo/mtu", "/sys/fs/cgroup/cgroup.procs", "/sys/kernel/profiling",
                         "/sys/firmware/efi/efivars", "/sys/bus/pci/rescan"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    int fd = open(files[i], O_WRONLY | O_CLOEXEC);
    if (fd >= 0) close(fd);
    expect_refused(files[i], fd);
  }
  return report_end();
}

const struct probe mount_probes[] = {
    {"mount", 'A', mount_probe, "mount(2) of tmpfs/proc/sysfs/cgroup/devpts/bind refused"},
    {"remount-rw", 'A', remount_rw, "read-only mounts cannot be remounted writable"},
    {"umount", 'A', umount_probe, "masks and mounts cannot be unmounted"},
    {"new-mount-api", 'A', new_mount_api, "fsopen/fspick/open_tree/move_mount/mount_setattr refused"},
    {"cgroup-release-agent", 'A', cgroup_release_agent, "release_agent unreachable; cgroup mounts refused"},
    {"sys-readonly", 'A', sys_readonly, "/sys absent or read-only"},
    PROBE_TABLE_END,
};
