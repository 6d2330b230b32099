/*
 * sg-probe: attack programs run inside a real sandgate sandbox (the test/security suites).
 *
 * Every probe prints exactly one result line on stdout and exits with its verdict:
 *
 *   HELD <probe> key=value ...     exit 0   every attempt was refused or contained
 *   BREACH <probe> key=value ...   exit 1   at least one attempt succeeded
 *   ERROR <probe> key=value ...    exit 2   the probe could not run its attack (bad argument,
 *                                           unexpected environment): neither held nor breached
 *
 * Values are errno names (EPERM), signal names (SIGSYS), counts, or short words; never free
 * text with spaces. The tests assert the exact values they expect, so the probe only decides
 * what counts as a breach (the attack worked) and leaves the expected errno to the test.
 */
#pragma once

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_HELD 0
#define PROBE_BREACH 1
#define PROBE_ERROR 2

struct probe {
  const char *name;
  /* SECURITY.md class: 'A'..'E', 'S' (secrets), 'H' (host-side helper, never in a sandbox). */
  char security_class;
  int (*run)(int argc, char **argv);
  const char *what;
};

#define PROBE_TABLE_END {NULL, 0, NULL, NULL}

extern const struct probe fs_probes[];
extern const struct probe mount_probes[];
extern const struct probe proc_probes[];
extern const struct probe kernel_probes[];
extern const struct probe kernel_api_probes[];
extern const struct probe abi_probes[];
extern const struct probe tty_probes[];
extern const struct probe net_ipc_probes[];
extern const struct probe resource_probes[];
extern const struct probe lifetime_probes[];

/* The credentials probe, also the whole of sg-privs (the binary the tests copy setuid-root
 * and with file capabilities: it can do nothing but report). */
int caps_probe(int argc, char **argv);

/* --- the result line (one per process) --- */

void report_begin(const char *probe_name);
/* Appends key=value (value formatted; spaces are replaced by '_'). */
void note(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like note(), and marks the probe as breached. */
void breach(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like note(), and marks the probe as unable to run (ERROR) unless it is also breached. */
void probe_fail(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the line and returns the exit code (PROBE_HELD / PROBE_BREACH / PROBE_ERROR). */
int report_end(void);
/* Prints the current line without ending the probe: used by probes that block waiting for
 * the test (e.g. "READY ..."), prefixed with `tag` instead of the verdict. */
void report_progress(const char *tag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The common pattern: `rc` is the result of a call that the sandbox must refuse.
 * rc < 0 → note(key, errno name); rc >= 0 → breach(key, "OK").
 * Reads errno, so call it right after the syscall.
 */
void expect_refused(const char *key, long rc);

const char *errno_name(int err);
const char *signal_name(int sig);

/*
 * Runs fn(arg) in a forked child, so an attempt that succeeds (a new namespace, a changed
 * personality) or gets the process killed (SIGSYS) cannot affect the probe itself.
 * fn returns 0 for "the call succeeded" or a positive errno. The result is written to `out`
 * as an errno name, "OK", or the name of the signal that killed the child.
 * Returns 1 if the call succeeded, 0 otherwise.
 */
int run_in_child(int (*fn)(void *arg), void *arg, char *out, size_t out_size);

/* Reads at most `max` bytes of a file; returns bytes read or -errno. Adds a NUL. */
long read_small_file(const char *path, char *buf, size_t max);

/* A reversed copy of `text` (static storage for up to 8 values of 255 bytes; longer ones are
 * cut). Tests pass markers and secrets reversed, so that the value a probe looks for is on
 * neither its own nor its init's command line; reversing argv in place would put it there. */
const char *reversed(const char *text);

/* Monotonic milliseconds. */
double now_ms(void);

/* Parses a decimal argument or exits with PROBE_ERROR naming it. */
long long arg_number(const char *text, const char *what);
