/*
 * Class C (terminal): the tty ioctls that inject input (TIOCSTI), reach the VT/console
 * (TIOCLINUX, TIOCCONS) or swap in rare line disciplines (TIOCSETD) are refused, on the
 * session's own terminal (fd 0 under --tty) and on a PTY the sandbox opens itself; the
 * sandbox sees only its own devpts instance, bounded in size.
 */
#include "probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define DEVPTS_SUPER_MAGIC 0x1cd1

/* Runs every ioctl attack against `fd`, which must be the caller's controlling terminal
 * (TIOCSTI on any other tty needs CAP_SYS_ADMIN anyway, which would hide the filter). */
static void attack_tty(int fd) {
  note("ctty", "%s", tcgetsid(fd) == getsid(0) ? "yes" : "no");
  struct termios saved, raw;
  int have_termios = tcgetattr(fd, &saved) == 0;
  if (have_termios) {
    raw = saved;
    cfmakeraw(&raw); /* non-canonical: FIONREAD counts every pending byte, not whole lines */
    tcsetattr(fd, TCSANOW, &raw);
  }
  int pending_before = 0;
  ioctl(fd, FIONREAD, &pending_before);
  const char inject[] = "id\n";
  int injected = 0;
  long rc = 0;
  for (size_t i = 0; i < sizeof inject - 1; i++) {
    rc = ioctl(fd, TIOCSTI, &inject[i]);
    if (rc != 0) break;
    injected++;
  }
  expect_refused("TIOCSTI", rc == 0 ? 0 : -1);
  /* fs/ioctl.c truncates cmd to unsigned int: junk in the upper 32 bits is still TIOCSTI. */
  long high = syscall(SYS_ioctl, fd, (1UL << 32) | TIOCSTI, &inject[0]);
  expect_refused("TIOCSTI_hi32", high);
  if (high == 0) injected++;
  int pending_after = 0;
  ioctl(fd, FIONREAD, &pending_after);
  if (pending_after > pending_before) breach("pending_input", "%d", pending_after - pending_before);
  else note("pending_input", "0");
  if (injected > 0) tcflush(fd, TCIFLUSH); /* never leave injected bytes for anyone to read */

  const int tioclinux_codes[] = {2 /* SETSEL */, 3 /* PASTESEL */, 11 /* SETKMSGREDIRECT */};
  for (size_t i = 0; i < sizeof tioclinux_codes / sizeof tioclinux_codes[0]; i++) {
    char arg[16];
    memset(arg, 0, sizeof arg);
    arg[0] = (char)tioclinux_codes[i];
    char key[32];
    snprintf(key, sizeof key, "TIOCLINUX_%d", tioclinux_codes[i]);
    expect_refused(key, ioctl(fd, TIOCLINUX, arg));
  }
  expect_refused("TIOCCONS", ioctl(fd, TIOCCONS));
  const int ldiscs[] = {13 /* N_HDLC */, 21 /* N_GSM0710 */, 3 /* N_PPP */, 27 /* N_NULL */};
  for (size_t i = 0; i < sizeof ldiscs / sizeof ldiscs[0]; i++) {
    char key[32];
    snprintf(key, sizeof key, "TIOCSETD_%d", ldiscs[i]);
    int ldisc = ldiscs[i];
    long set = ioctl(fd, TIOCSETD, &ldisc);
    expect_refused(key, set);
    if (set == 0) {
      int n_tty = 0;
      ioctl(fd, TIOCSETD, &n_tty);
    }
  }
  int ldisc_now = -1;
  ioctl(fd, TIOCGETD, &ldisc_now);
  note("ldisc_after", "%d", ldisc_now);
  if (have_termios) tcsetattr(fd, TCSANOW, &saved);
}

/* Opens a PTY pair from the sandbox's own devpts. */
static int open_pty(int *master, int *slave, char *name, size_t name_size) {
  *master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (*master < 0) return -1;
  if (grantpt(*master) != 0 || unlockpt(*master) != 0 || ptsname_r(*master, name, name_size) != 0) return -1;
  *slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  return *slave < 0 ? -1 : 0;
}

/* tty-ioctls pty|stdin: the ioctl attacks on a fresh PTY made the caller's controlling
 * terminal (pty), or on the session's own terminal on fd 0 (stdin; run with --tty). */
static int tty_ioctls(int argc, char **argv) {
  const char *target = argc > 0 ? argv[0] : "pty";
  if (strcmp(target, "stdin") == 0) {
    if (!isatty(0)) {
      probe_fail("stdin", "not_a_tty");
      return report_end();
    }
    attack_tty(0);
    return report_end();
  }
  int master, slave;
  char name[64];
  if (open_pty(&master, &slave, name, sizeof name) != 0) {
    probe_fail("open_pty", "%s", errno_name(errno));
    return report_end();
  }
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    /* A new session whose controlling terminal is the PTY; report from there. */
    if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) != 0) note("make_ctty", "%s", errno_name(errno));
    attack_tty(slave);
    _exit(report_end());
  }
  int status = 0;
  waitpid(child, &status, 0);
  close(slave);
  close(master);
  if (WIFSIGNALED(status)) {
    printf("BREACH tty-ioctls child_killed=%s\n", signal_name(WTERMSIG(status)));
    return PROBE_BREACH;
  }
  return WEXITSTATUS(status);
}

/* pts-isolated: /dev/pts is the sandbox's own, empty devpts instance: no other session's
 * PTY is there, and a PTY opened through /dev/ptmx appears in it. */
static int pts_isolated(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct statfs fs;
  if (statfs("/dev/pts", &fs) != 0) {
    probe_fail("statfs", "%s", errno_name(errno));
    return report_end();
  }
  note("fs", "%s", fs.f_type == DEVPTS_SUPER_MAGIC ? "devpts" : "other");
  DIR *d = opendir("/dev/pts");
  int others = 0;
  struct dirent *entry;
  while (d != NULL && (entry = readdir(d)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0 || strcmp(entry->d_name, "ptmx") == 0) continue;
    others++;
    breach("foreign_pty", "%s", entry->d_name);
  }
  if (d != NULL) closedir(d);
  note("foreign_ptys", "%d", others);
  int master, slave;
  char name[64];
  if (open_pty(&master, &slave, name, sizeof name) != 0) {
    probe_fail("open_pty", "%s", errno_name(errno));
    return report_end();
  }
  struct stat pts_dir, slave_st;
  stat("/dev/pts", &pts_dir);
  stat(name, &slave_st);
  note("new_pty", "%s", name);
  if (slave_st.st_dev != pts_dir.st_dev) breach("new_pty_instance", "other"); else note("new_pty_instance", "own");
  close(slave);
  close(master);
  return report_end();
}

/* pty-exhaust LIMIT: opening PTYs stops at the sandbox's devpts max (≤ LIMIT), with ENOSPC. */
static int pty_exhaust(int argc, char **argv) {
  if (argc < 1) {
    probe_fail("usage", "pty-exhaust_LIMIT");
    return report_end();
  }
  long limit = (long)arg_number(argv[0], "LIMIT");
  int fds[4096];
  int opened = 0, err = 0;
  double deadline = now_ms() + 20000;
  while (opened < 4096 && now_ms() < deadline) {
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
      err = errno;
      break;
    }
    fds[opened++] = fd;
  }
  for (int i = 0; i < opened; i++) close(fds[i]);
  note("opened", "%d", opened);
  note("errno", "%s", err != 0 ? errno_name(err) : "none");
  if (opened > limit || err == 0) breach("bounded", "no");
  return report_end();
}

const struct probe tty_probes[] = {
    {"tty-ioctls", 'C', tty_ioctls, "TIOCSTI/TIOCLINUX/TIOCCONS/TIOCSETD refused (pty | stdin)"},
    {"pts-isolated", 'C', pts_isolated, "own devpts instance, no other session's PTYs"},
    {"pty-exhaust", 'C', pty_exhaust, "PTY allocation bounded by the devpts max"},
    PROBE_TABLE_END,
};
