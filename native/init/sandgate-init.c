// sandgate-init: PID 1 of a sandbox (docs/internals/launcher-contract.md). Runs the command
// as PID 2, forwards the supervisor's signals to it, reaps every process (orphans are
// re-parented to PID 1: pid_namespaces(7)), and exits with the command's status; the kernel
// then kills whatever is left in the namespace. Runs as the sandbox user, without
// capabilities, under seccomp.
//
// Usage: sandgate-init -- CMD [ARG...]
//
// Freestanding: no libc code, a dozen raw syscalls. glibc's start-up detects cache sizes with
// loops of CPUID (sysdeps/x86/dl-cacheinfo.h), and in a VM every CPUID traps to the
// hypervisor: measured here, 0.5 ms of a 0.65 ms start of a static glibc binary, paid on
// every sandbox spawn. The binary is still linked by the default rule (-static, crt1.o's
// _start), which calls __libc_start_main (LSB Core, "__libc_start_main"): defining it here
// means no member of libc.a is linked at all (check: `nm sandgate-init`).

// Keep GCC from turning the copy loops below into calls to a memcpy this binary does not have.
#pragma GCC optimize("no-tree-loop-distribute-patterns")

#include <errno.h>        // E* constants only
#include <fcntl.h>        // F_SETFD, FD_CLOEXEC
#include <signal.h>       // SIG* constants only
#include <stdarg.h>       // compiler built-ins
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>    // TCGETS, TIOCSCTTY
#include <sys/prctl.h>    // PR_SET_DUMPABLE
#include <sys/stat.h>     // struct stat: the x86-64 kernel's layout
#include <sys/syscall.h>  // SYS_* numbers

#define KERNEL_NSIG 64
// Where the launcher passes the pipe for the command's raw wait status (kInitStatusFd in
// native/launcher/clone-child.h): a pid namespace's init cannot die of a signal sent by
// itself, so its exit code alone cannot tell `kill -TERM $$` from `exit 143`.
#define STATUS_FD 3
#define KERNEL_SA_RESTORER 0x04000000  // arch/x86/include/uapi/asm/signal.h
#define PATH_BUF 4096

// The kernel's struct sigaction on x86-64 (not glibc's: its sigset_t is 128 bytes).
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  uint64_t mask;
};

static long sys6(long nr, long a, long b, long c, long d, long e, long f) {
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;  // -errno on failure
}
#define sys(nr, a, b, c) sys6((nr), (long)(a), (long)(b), (long)(c), 0, 0, 0)

// GCC may emit calls to these for struct copies and initialisers.
void* memset(void* dst, int c, size_t n) {
  unsigned char* d = dst;
  while (n--) *d++ = (unsigned char)c;
  return dst;
}
void* memcpy(void* dst, const void* src, size_t n) {
  unsigned char* d = dst;
  const unsigned char* s = src;
  while (n--) *d++ = *s++;
  return dst;
}

static size_t length(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') n++;
  return n;
}

static void exit_now(int code) {
  for (;;) sys(SYS_exit_group, code, 0, 0);
}

// The errors execve(2) reports, in words (the rest as a number).
static const char* error_text(int error, char number[16]) {
  switch (error) {
    case ENOENT: return "No such file or directory";
    case EACCES: return "Permission denied";
    case EPERM: return "Operation not permitted";
    case ENOEXEC: return "Exec format error";
    case ENOTDIR: return "Not a directory";
    case EISDIR: return "Is a directory";
    case ELOOP: return "Too many levels of symbolic links";
    case ENAMETOOLONG: return "File name too long";
    case E2BIG: return "Argument list too long";
    case ENOMEM: return "Cannot allocate memory";
    case ETXTBSY: return "Text file busy";
    case EAGAIN: return "Resource temporarily unavailable";
    case EIO: return "Input/output error";
  }
  char* p = number + 15;
  *p = '\0';
  unsigned value = (unsigned)error;
  do *--p = (char)('0' + value % 10); while ((value /= 10) != 0 && p > number + 6);
  memcpy(p - 6, "error ", 6);
  return p - 6;
}

// Writes "sandgate-init: " and the NULL-terminated list of strings, then a newline.
static void say(const char* first, ...) {
  char line[1024] = "sandgate-init: ";
  size_t len = length(line);
  va_list ap;
  va_start(ap, first);
  for (const char* part = first; part != NULL; part = va_arg(ap, const char*)) {
    size_t n = length(part);
    if (n > sizeof line - 1 - len) n = sizeof line - 1 - len;
    memcpy(line + len, part, n);
    len += n;
  }
  va_end(ap);
  line[len++] = '\n';
  sys(SYS_write, 2, line, len);
}

// Returned to after a signal handler (the x86-64 kernel requires SA_RESTORER). The handlers
// never run, but a missing restorer would turn a delivery into SIGSEGV.
void sandgate_init_restore_rt(void);
__asm__(".text\n"
        ".type sandgate_init_restore_rt,@function\n"
        "sandgate_init_restore_rt:\n"
        "  mov $15, %eax\n"  // SYS_rt_sigreturn
        "  syscall\n");

static void unused_handler(int sig) { (void)sig; }

static void set_action(int sig, void (*handler)(int)) {
  struct kernel_sigaction action = {handler, KERNEL_SA_RESTORER, sandgate_init_restore_rt, 0};
  sys6(SYS_rt_sigaction, sig, (long)&action, 0, sizeof action.mask, 0, 0);
}

static void set_mask(uint64_t mask) {
  sys6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&mask, 0, sizeof mask, 0, 0);
}

static int is_tty(int fd) {
  char termios[64];  // struct termios (asm-generic/termbits.h) is 36 bytes
  return sys(SYS_ioctl, fd, TCGETS, termios) == 0;
}

// execve(2) of `file` as execvp(3) would: through PATH when it has no slash (an empty PATH
// element is the current directory), a script without "#!" run by /bin/sh. Returns the
// errno to report.
static int exec_command(char** argv, char** envp) {
  const char* file = argv[0];
  const char* path = "/usr/local/bin:/usr/bin:/bin";
  for (char** e = envp; *e != NULL; e++) {
    const char* v = *e;
    if (v[0] == 'P' && v[1] == 'A' && v[2] == 'T' && v[3] == 'H' && v[4] == '=') path = v + 5;
  }
  int has_slash = 0;
  for (const char* c = file; *c != '\0'; c++) has_slash |= *c == '/';
  size_t file_len = length(file);
  int denied = 0;
  for (const char* dir = path;; dir++) {
    char full[PATH_BUF];
    const char* target = file;
    if (!has_slash) {
      const char* end = dir;
      while (*end != '\0' && *end != ':') end++;
      size_t dir_len = (size_t)(end - dir);
      if (dir_len == 0) dir = ".", dir_len = 1;
      if (dir_len + 1 + file_len + 1 > sizeof full) return ENAMETOOLONG;
      memcpy(full, dir, dir_len);
      full[dir_len] = '/';
      memcpy(full + dir_len + 1, file, file_len + 1);
      target = full;
      dir = *end == '\0' ? NULL : end;
    }
    int error = (int)-sys(SYS_execve, target, argv, envp);
    if (error == ENOEXEC) {
      size_t argc = 0;
      while (argv[argc] != NULL) argc++;
      char* shell_argv[argc + 2];
      shell_argv[0] = (char*)"/bin/sh";
      shell_argv[1] = (char*)target;
      for (size_t i = 1; i <= argc; i++) shell_argv[i + 1] = argv[i];
      error = (int)-sys(SYS_execve, "/bin/sh", shell_argv, envp);
    }
    if (has_slash) return error;
    if (error == EACCES) {
      denied = 1;
    } else if (error != ENOENT && error != ENOTDIR && error != ESTALE && error != ENODEV &&
               error != ETIMEDOUT) {
      return error;
    }
    if (dir == NULL) return denied ? EACCES : ENOENT;
  }
}

// PID 2: a clean signal state, the terminal as controlling tty, then the command.
static void run_command(char** argv, char** envp) {
  for (int sig = 1; sig <= KERNEL_NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) set_action(sig, SIG_DFL);
  }
  set_mask(0);
  if (is_tty(0)) {
    // A session of its own with the tty as controlling terminal: job control and Ctrl-C
    // (the tty's SIGINT goes to its foreground process group) work as in a login shell.
    // Failure is not fatal: the launcher may run in a terminal that another session owns
    // (`sandgate run` from a shell), and the command still runs, without job control.
    sys(SYS_setsid, 0, 0, 0);
    sys(SYS_ioctl, 0, TIOCSCTTY, 0);
  }
  int error = exec_command(argv, envp);
  char number[16];
  say("exec ", argv[0], ": ", error_text(error, number), NULL);
  exit_now(error == ENOENT ? 127 : 126);  // the shells' convention (bash(1), "EXIT STATUS")
}

static const int kForwarded[] = {SIGINT,  SIGTERM, SIGHUP,  SIGQUIT,
                                 SIGUSR1, SIGUSR2, SIGCONT, SIGWINCH};

static int init_main(int argc, char** argv, char** envp) {
  if (argc < 3 || argv[1][0] != '-' || argv[1][1] != '-' || argv[1][2] != '\0') {
    say("usage: sandgate-init -- CMD [ARG...]", NULL);
    return 2;
  }
  // The status pipe stays init's own (close-on-exec: the command never has it), and a
  // non-dumpable init keeps /proc/1/fd and ptrace out of the sandbox user's reach (proc(5)).
  int status_fd = -1;
  struct stat st;
  if (sys(SYS_fstat, STATUS_FD, &st, 0) == 0 && S_ISFIFO(st.st_mode) &&
      sys(SYS_fcntl, STATUS_FD, F_SETFD, FD_CLOEXEC) == 0) {
    status_fd = STATUS_FD;
  }
  sys6(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0, 0);

  uint64_t waited = 1ull << (SIGCHLD - 1);
  for (size_t i = 0; i < sizeof kForwarded / sizeof kForwarded[0]; i++) waited |= 1ull << (kForwarded[i] - 1);
  // Blocked before the handlers are installed: signals the supervisor forwarded during setup
  // are still pending (the launcher kept them blocked through exec) and are taken below,
  // once the command exists.
  set_mask(waited);
  // The kernel drops a signal sent to a pid namespace's init whose disposition is SIG_DFL,
  // even from an ancestor namespace (only SIGKILL/SIGSTOP get through: pid_namespaces(7),
  // "The namespace init process"). So each one gets a real handler; it never runs: the
  // signals stay blocked and are taken with rt_sigtimedwait (sigwaitinfo(2)).
  for (int sig = 1; sig <= KERNEL_NSIG; sig++) {
    if (waited & (1ull << (sig - 1))) set_action(sig, unused_handler);
  }

  // fork(2): clone with only the exit signal (no CLONE_* flag), as seccomp allows.
  long command = sys6(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);
  if (command < 0) {
    char number[16];
    say("fork: ", error_text((int)-command, number), NULL);
    return 126;
  }
  if (command == 0) run_command(argv + 2, envp);

  for (;;) {
    char info[128];  // siginfo_t; only the return value is used
    long sig = sys6(SYS_rt_sigtimedwait, (long)&waited, (long)info, 0, sizeof waited, 0, 0);
    if (sig < 0) continue;  // EINTR
    if (sig != SIGCHLD) {
      sys(SYS_kill, command, sig, 0);
      continue;
    }
    // SIGCHLD coalesces: reap until nothing is left to reap.
    for (;;) {
      int status = 0;
      long pid = sys6(SYS_wait4, -1, (long)&status, 1 /* WNOHANG */, 0, 0, 0);
      if (pid <= 0) break;
      if (pid == command) {
        if (status_fd >= 0) {
          int32_t raw = status;
          sys(SYS_write, status_fd, &raw, sizeof raw);
        }
        // wait(2): exited → its code; killed → 128 + signal, as a shell reports it.
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);
      }
    }
  }
}

// Called by crt1.o's _start instead of glibc's (see the top of this file).
int __libc_start_main(int (*main)(int, char**, char**), int argc, char** argv, void (*init)(void),
                      void (*fini)(void), void (*rtld_fini)(void), void* stack_end) {
  (void)main, (void)init, (void)fini, (void)rtld_fini, (void)stack_end;
  exit_now(init_main(argc, argv, argv + argc + 1));
  return 0;
}

// crt1.o refers to main; __libc_start_main above never calls it.
int main(void) { return 0; }
