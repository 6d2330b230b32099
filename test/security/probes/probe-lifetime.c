/*
 * Class E (lifetime) and secrets: kill(-1) reaches only the sandbox's own processes;
 * daemonised, stopped and signal-ignoring survivors are started for the test to look for on
 * the host after the run; output floods; the environment carries no secret.
 */
#include "probe.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* kill-all: kill(-1, SIGKILL) kills the caller's own children and nothing it cannot see
 * (the test checks a host decoy and another sandbox); init survives it. */
static int kill_all(int argc, char **argv) {
  (void)argc;
  (void)argv;
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) != 0) {
    probe_fail("pipe", "%s", errno_name(errno));
    return report_end();
  }
  pid_t children[3];
  for (int i = 0; i < 3; i++) {
    children[i] = fork();
    if (children[i] == 0) {
      close(gate[1]);
      char c;
      while (read(gate[0], &c, 1) < 0 && errno == EINTR) {
      }
      _exit(0);
    }
  }
  note("kill", "%s", kill(-1, SIGKILL) == 0 ? "OK" : errno_name(errno));
  int killed = 0;
  for (int i = 0; i < 3; i++) {
    int status = 0;
    if (children[i] > 0 && waitpid(children[i], &status, 0) == children[i] && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) killed++;
  }
  note("own_children_killed", "%d", killed);
  if (killed != 3) probe_fail("own_children", "survived");
  note("kill_init", "%s", kill(1, SIGKILL) == 0 ? "OK" : errno_name(errno));
  struct stat st;
  note("init_alive", "%s", stat("/proc/1", &st) == 0 ? "yes" : "no");
  return report_end();
}

/* sleeper MARKER MODE READYFD: one survivor (internal: exec'd by linger so MARKER is in its
 * argv for the host's pgrep). Bounded by alarm(120) in case the sandbox failed to kill it. */
static int sleeper(int argc, char **argv) {
  if (argc < 3) return PROBE_ERROR;
  const char *mode = argv[1];
  int ready = (int)arg_number(argv[2], "READYFD");
  alarm(120);
  signal(SIGTERM, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  setpgid(0, 0);
  if (write(ready, "r", 1) != 1) return PROBE_ERROR;
  close(ready);
  if (strcmp(mode, "stopped") == 0) raise(SIGSTOP);
  for (;;) pause();
}

/* Starts a sleeper: "daemon" double-forks with setsid (reparented to init), the others are
 * plain children that ignore signals or stop themselves. */
static void start_sleeper(const char *marker, const char *mode, int ready_fd) {
  char fd_text[16];
  snprintf(fd_text, sizeof fd_text, "%d", ready_fd);
  pid_t pid = fork();
  if (pid != 0) {
    if (strcmp(mode, "daemon") == 0 && pid > 0) waitpid(pid, NULL, 0);
    return;
  }
  if (strcmp(mode, "daemon") == 0) {
    setsid();
    if (fork() != 0) _exit(0);
  }
  execl("/proc/self/exe", "sg-probe", "sleeper", marker, mode, fd_text, (char *)NULL);
  _exit(127);
}

/* linger MARKER [block]: starts three survivors carrying MARKER (daemonised, stopped,
 * ignoring signals) and exits, or with "block" prints READY and waits to be killed (time
 * limit test). The test then looks for MARKER on the host. */
static int linger(int argc, char **argv) {
  if (argc < 1) {
    probe_fail("usage", "linger_MARKER_[block]");
    return report_end();
  }
  int ready[2];
  if (pipe(ready) != 0) { /* not O_CLOEXEC: the sleepers write to it after exec */
    probe_fail("pipe", "%s", errno_name(errno));
    return report_end();
  }
  const char *modes[] = {"daemon", "stopped", "ignoring"};
  for (int i = 0; i < 3; i++) start_sleeper(argv[0], modes[i], ready[1]);
  close(ready[1]);
  int started = 0;
  double deadline = now_ms() + 10000;
  while (started < 3 && now_ms() < deadline) {
    struct pollfd p = {ready[0], POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) continue;
    char c;
    if (read(ready[0], &c, 1) == 1) started++; else break;
  }
  note("started", "%d", started);
  if (started != 3) probe_fail("survivors", "not_started");
  if (argc > 1 && strcmp(argv[1], "block") == 0) {
    report_progress("READY", "started=%d", started);
    alarm(120);
    for (;;) pause();
  }
  return report_end();
}

/* flood MAXMB [MARKER]: writes to stdout as fast as it can until the reader is gone (SIGPIPE
 * on a pipe; a failed write, EPIPE or ECONNRESET, on a unix socket) or MAXMB; the verdict
 * goes to stderr, stdout is the flood. MARKER (ignored) lets the host find this process. */
static int flood(int argc, char **argv) {
  long max_mb = argc > 0 ? (long)arg_number(argv[0], "MAXMB") : 4096;
  static char block[65536];
  memset(block, 'y', sizeof block);
  long long total = 0, max = (long long)max_mb * 1024 * 1024;
  while (total < max) {
    ssize_t n = write(1, block, sizeof block);
    if (n <= 0) {
      fprintf(stderr, "HELD flood write=%s written=%lld\n", n < 0 ? errno_name(errno) : "0", total);
      return PROBE_HELD;
    }
    total += n;
  }
  fprintf(stderr, "HELD flood written=%lld\n", total);
  return PROBE_HELD;
}

static int contains(const char *haystack, size_t len, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; n > 0 && i + n <= len; i++) {
    if (memcmp(haystack + i, needle, n) == 0) return 1;
  }
  return 0;
}

/* env-scan REVERSED_SECRET...: the secrets (at most 8) the test put in the CLI's environment
 * (passed reversed, so they are not on any command line here) are in no visible process's
 * environment or command line; lists the environment's names. */
static int env_scan(int argc, char **argv) {
  char names[4096] = "";
  size_t used = 0;
  for (char **e = environ; *e != NULL; e++) {
    size_t name_len = strcspn(*e, "=");
    int n = snprintf(names + used, sizeof names - used, "%s%.*s", used > 0 ? "," : "", (int)name_len, *e);
    if (n > 0 && (size_t)n < sizeof names - used) used += (size_t)n;
  }
  note("names", "%s", used > 0 ? names : "-");
  const char *secrets[8];
  int count = argc < 8 ? argc : 8;
  for (int i = 0; i < count; i++) secrets[i] = reversed(argv[i]);
  DIR *proc = opendir("/proc");
  int scanned = 0;
  struct dirent *entry;
  while (proc != NULL && (entry = readdir(proc)) != NULL) {
    if (!isdigit((unsigned char)entry->d_name[0])) continue;
    const char *files[] = {"environ", "cmdline"};
    for (size_t f = 0; f < 2; f++) {
      char path[300], buf[65536];
      snprintf(path, sizeof path, "/proc/%s/%s", entry->d_name, files[f]);
      long n = read_small_file(path, buf, sizeof buf);
      if (n <= 0) continue;
      scanned++;
      for (int i = 0; i < count; i++) {
        if (contains(buf, (size_t)n, secrets[i])) breach("secret_in", "%s:%s:%d", entry->d_name, files[f], i);
      }
    }
  }
  if (proc != NULL) closedir(proc);
  note("files_scanned", "%d", scanned);
  return report_end();
}

const struct probe lifetime_probes[] = {
    {"kill-all", 'E', kill_all, "kill(-1, SIGKILL) reaches only the sandbox's own processes"},
    {"sleeper", 'E', sleeper, "(internal) one survivor started by linger"},
    {"linger", 'E', linger, "daemonised/stopped/signal-ignoring survivors (checked on the host)"},
    {"flood", 'E', flood, "stdout flood until the pipe breaks"},
    {"env-scan", 'S', env_scan, "no secret in any visible environ/cmdline; env names listed"},
    PROBE_TABLE_END,
};
