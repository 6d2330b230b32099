/* The result line shared by every probe (see probe.h). */
#include "probe.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

static char line[8192];
static size_t line_len;
static const char *current_probe = "?";
static int breached;
static int failed;

void report_begin(const char *probe_name) {
  current_probe = probe_name;
  line_len = 0;
  line[0] = '\0';
  breached = 0;
  failed = 0;
}

static void append_kv(const char *key, const char *fmt, va_list ap) {
  char value[1024];
  vsnprintf(value, sizeof value, fmt, ap);
  for (char *c = value; *c != '\0'; c++) {
    if (*c == ' ' || *c == '\n' || *c == '\t') *c = '_';
  }
  int n = snprintf(line + line_len, sizeof line - line_len, " %s=%s", key, value);
  if (n > 0 && (size_t)n < sizeof line - line_len) line_len += (size_t)n;
}

void note(const char *key, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  append_kv(key, fmt, ap);
  va_end(ap);
}

void breach(const char *key, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  append_kv(key, fmt, ap);
  va_end(ap);
  breached = 1;
}

void probe_fail(const char *key, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  append_kv(key, fmt, ap);
  va_end(ap);
  failed = 1;
}

int report_end(void) {
  const char *verdict = breached ? "BREACH" : failed ? "ERROR" : "HELD";
  printf("%s %s%s\n", verdict, current_probe, line);
  fflush(stdout);
  return breached ? PROBE_BREACH : failed ? PROBE_ERROR : PROBE_HELD;
}

void report_progress(const char *tag, const char *fmt, ...) {
  char rest[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rest, sizeof rest, fmt, ap);
  va_end(ap);
  printf("%s %s %s\n", tag, current_probe, rest);
  fflush(stdout);
}

void expect_refused(const char *key, long rc) {
  int err = errno;
  if (rc < 0) {
    note(key, "%s", errno_name(err));
  } else {
    breach(key, "OK");
  }
}

const char *errno_name(int err) {
  const char *name = strerrorname_np(err);
  static char unknown[32];
  if (name != NULL) return name;
  snprintf(unknown, sizeof unknown, "errno%d", err);
  return unknown;
}

const char *signal_name(int sig) {
  static char buf[32];
  const char *abbrev = sigabbrev_np(sig);
  if (abbrev == NULL) {
    snprintf(buf, sizeof buf, "signal%d", sig);
  } else {
    snprintf(buf, sizeof buf, "SIG%s", abbrev);
  }
  return buf;
}

int run_in_child(int (*fn)(void *arg), void *arg, char *out, size_t out_size) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(out, out_size, "fork_%s", errno_name(errno));
    return 0;
  }
  if (pid == 0) {
    int err = fn(arg);
    _exit(err > 255 ? 255 : err);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      snprintf(out, out_size, "wait_%s", errno_name(errno));
      return 0;
    }
  }
  if (WIFSIGNALED(status)) {
    snprintf(out, out_size, "%s", signal_name(WTERMSIG(status)));
    return 0;
  }
  int code = WEXITSTATUS(status);
  if (code == 0) {
    snprintf(out, out_size, "OK");
    return 1;
  }
  snprintf(out, out_size, "%s", errno_name(code));
  return 0;
}

long read_small_file(const char *path, char *buf, size_t max) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  size_t total = 0;
  while (total + 1 < max) {
    ssize_t n = read(fd, buf + total, max - 1 - total);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      buf[total] = '\0';
      return total > 0 ? (long)total : -err;
    }
    if (n == 0) break;
    total += (size_t)n;
  }
  buf[total] = '\0';
  close(fd);
  return (long)total;
}

const char *reversed(const char *text) {
  static char slots[8][256];
  static size_t next;
  char *out = slots[next++ % 8];
  size_t n = strnlen(text, sizeof slots[0] - 1);
  for (size_t i = 0; i < n; i++) out[i] = text[n - 1 - i];
  out[n] = '\0';
  return out;
}

double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

long long arg_number(const char *text, const char *what) {
  char *end = NULL;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0') {
    printf("ERROR %s bad_argument=%s\n", current_probe, what);
    fflush(stdout);
    exit(PROBE_ERROR);
  }
  return value;
}
