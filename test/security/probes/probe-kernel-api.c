/*
 * Class B (kernel API): the syscalls Docker's default seccomp profile refuses to an
 * unprivileged container are refused here too, and nothing outside the caller's own
 * processes can be traced or read.
 */
#include "probe.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <linux/userfaultfd.h>

static void close_if_open(long fd) {
  if (fd >= 0) close((int)fd);
}

/* keyctl: the kernel keyrings (not namespaced) are out of reach: add_key, request_key, keyctl. */
static int keyctl_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  expect_refused("add_key", syscall(SYS_add_key, "user", "sg-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
  expect_refused("request_key", syscall(SYS_request_key, "user", "sg-probe", NULL, KEY_SPEC_PROCESS_KEYRING));
  expect_refused("join_session", syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "sg-probe", 0, 0, 0));
  expect_refused("get_user_keyring", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0, 0, 0));
  return report_end();
}

/* bpf: no map and no program can be created. */
static int bpf_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
  expect_refused("map_create", fd);
  close_if_open(fd);
  struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0}, /* r0 = 0 */
      {.code = BPF_JMP | BPF_EXIT},                                  /* exit */
  };
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = (uint64_t)(uintptr_t)insns;
  attr.insn_cnt = 2;
  attr.license = (uint64_t)(uintptr_t)"GPL";
  fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  expect_refused("prog_load", fd);
  close_if_open(fd);
  return report_end();
}

/* perf-event: perf_event_open(2) is refused, even the self-only, user-only software counter
 * that perf_event_paranoid=2 would allow. */
static int perf_event(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_TASK_CLOCK;
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
  expect_refused("sw_self", fd);
  close_if_open(fd);
  attr.type = PERF_TYPE_HARDWARE;
  attr.config = PERF_COUNT_HW_CPU_CYCLES;
  fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
  expect_refused("hw_self", fd);
  close_if_open(fd);
  fd = syscall(SYS_perf_event_open, &attr, -1, 0, -1, 0);
  expect_refused("hw_cpu0", fd);
  close_if_open(fd);
  return report_end();
}

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

/* userfaultfd: refused, including the UFFD_USER_MODE_ONLY form unprivileged users may use. */
static int userfaultfd_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  long fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
  expect_refused("user_mode_only", fd);
  close_if_open(fd);
  fd = syscall(SYS_userfaultfd, O_CLOEXEC);
  expect_refused("all_modes", fd);
  close_if_open(fd);
  fd = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
  expect_refused("dev_userfaultfd", fd);
  close_if_open(fd);
  return report_end();
}

/* io-uring: io_uring_setup(2) is refused (io_uring bypasses seccomp for its operations). */
static int io_uring(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct io_uring_params params;
  memset(&params, 0, sizeof params);
  long fd = syscall(SYS_io_uring_setup, 4, &params);
  expect_refused("setup", fd);
  close_if_open(fd);
  note("enter", "%s", syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0) < 0 ? errno_name(errno) : "OK");
  note("register", "%s", syscall(SYS_io_uring_register, -1, 0, NULL, 0) < 0 ? errno_name(errno) : "OK");
  return report_end();
}

/* ptrace: PID 1 (sandgate-init) cannot be attached to or seized. */
static int ptrace_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  long rc = ptrace(PTRACE_ATTACH, 1, NULL, NULL);
  expect_refused("attach1", rc);
  if (rc == 0) {
    waitpid(1, NULL, __WALL);
    ptrace(PTRACE_DETACH, 1, NULL, NULL);
  }
  rc = ptrace(PTRACE_SEIZE, 1, NULL, NULL);
  expect_refused("seize1", rc);
  if (rc == 0) ptrace(PTRACE_DETACH, 1, NULL, NULL);
  return report_end();
}

/* First mapped address of PID 1 from /proc/1/maps, or a typical static base. */
static unsigned long pid1_address(void) {
  char maps[512];
  if (read_small_file("/proc/1/maps", maps, sizeof maps) > 0) return strtoul(maps, NULL, 16);
  return 0x400000UL;
}

/* process-vm: process_vm_readv/writev on PID 1 are refused (EFAULT would mean the access
 * check passed, so it counts as a breach). */
static int process_vm(int argc, char **argv) {
  (void)argc;
  (void)argv;
  char buf[16];
  struct iovec local = {buf, sizeof buf};
  struct iovec remote = {(void *)pid1_address(), sizeof buf};
  long rc = process_vm_readv(1, &local, 1, &remote, 1, 0);
  if (rc >= 0 || errno == EFAULT) breach("readv1", "%s", rc >= 0 ? "OK" : "EFAULT"); else note("readv1", "%s", errno_name(errno));
  remote.iov_base = (void *)8; /* never mapped: a write that passed the check would fault */
  rc = process_vm_writev(1, &local, 1, &remote, 1, 0);
  if (rc >= 0 || errno == EFAULT) breach("writev1", "%s", rc >= 0 ? "OK" : "EFAULT"); else note("writev1", "%s", errno_name(errno));
  return report_end();
}

/* kexec: kexec_load and kexec_file_load are refused. */
static int kexec(int argc, char **argv) {
  (void)argc;
  (void)argv;
  expect_refused("kexec_load", syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL));
  expect_refused("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0UL, "", 1UL /* KEXEC_FILE_UNLOAD */));
  return report_end();
}

/* modules: init_module, finit_module and delete_module are refused. */
static int modules(int argc, char **argv) {
  (void)argc;
  (void)argv;
  expect_refused("init_module", syscall(SYS_init_module, NULL, 0UL, ""));
  expect_refused("finit_module", syscall(SYS_finit_module, 0, "", 0));
  expect_refused("delete_module", syscall(SYS_delete_module, "sg_probe_none", O_NONBLOCK));
  return report_end();
}

/* open-by-handle: the "shocker" escape: open_by_handle_at with a forged handle for the root
 * inode (2) of the filesystem behind /usr is refused. */
static int open_by_handle(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct {
    unsigned int handle_bytes;
    int handle_type;
    uint32_t ino, gen;
  } handle = {8, 1 /* FILEID_INO32_GEN */, 2, 0};
  int mount_fd = open("/usr", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  long fd = syscall(SYS_open_by_handle_at, mount_fd, &handle, O_RDONLY | O_CLOEXEC);
  expect_refused("forged_root_inode", fd);
  close_if_open(fd);
  close_if_open(mount_fd);
  return report_end();
}

/* reboot: refused (LINUX_REBOOT_CMD_CAD_OFF: harmless even if it had been allowed). */
static int reboot_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  expect_refused("cad_off", syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL));
  return report_end();
}

/* swapon: swapon and swapoff are refused. */
static int swapon_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  expect_refused("swapon", swapon("/tmp/sg-probe-swap", 0));
  expect_refused("swapoff", swapoff("/tmp/sg-probe-swap"));
  return report_end();
}

/* clock: the system clock cannot be set or steered (the value written is the current time,
 * so even a failure of the sandbox would not move the host's clock noticeably). */
static int clock_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  expect_refused("clock_settime", clock_settime(CLOCK_REALTIME, &now));
  struct timeval tv;
  gettimeofday(&tv, NULL);
  expect_refused("settimeofday", settimeofday(&tv, NULL));
  struct timex tx;
  memset(&tx, 0, sizeof tx);
  adjtimex(&tx); /* modes 0: read only, allowed */
  tx.modes = ADJ_FREQUENCY;
  expect_refused("adjtimex", adjtimex(&tx));
  expect_refused("clock_adjtime", syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx));
  return report_end();
}

static int try_personality(void *arg) {
  unsigned long persona = *(const unsigned long *)arg;
  if (syscall(SYS_personality, persona) == -1) return errno;
  unsigned int wanted = (unsigned int)persona; /* the kernel takes an unsigned int */
  return ((unsigned int)personality(0xffffffff) & wanted) == wanted ? 0 : ENOTSUP;
}

/* personality: READ_IMPLIES_EXEC (and ADDR_NO_RANDOMIZE) cannot be set, also with junk in
 * the upper 32 bits (the kernel truncates the argument to unsigned int). */
static int personality_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  unsigned long flags[] = {READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, (1UL << 32) | READ_IMPLIES_EXEC};
  const char *names[] = {"READ_IMPLIES_EXEC", "ADDR_NO_RANDOMIZE", "READ_IMPLIES_EXEC_hi32"};
  for (size_t i = 0; i < 3; i++) {
    char result[64];
    if (run_in_child(try_personality, &flags[i], result, sizeof result)) breach(names[i], "OK");
    else note(names[i], "%s", result);
  }
  note("current", "%d", personality(0xffffffff));
  return report_end();
}

/* syslog: the kernel log cannot be read or cleared. */
static int syslog_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  char buf[256];
  expect_refused("read_all", klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof buf));
  expect_refused("size_buffer", klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0));
  expect_refused("console_off", klogctl(6 /* SYSLOG_ACTION_CONSOLE_OFF */, NULL, 0));
  return report_end();
}

/* iopl: no direct I/O port access. */
static int iopl_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  expect_refused("iopl3", syscall(SYS_iopl, 3));
  expect_refused("ioperm", syscall(SYS_ioperm, 0x80UL, 1UL, 1));
  return report_end();
}

/* misc-privileged: hostname, accounting, vhangup, real-time scheduling and negative nice. */
static int misc_privileged(int argc, char **argv) {
  (void)argc;
  (void)argv;
  expect_refused("sethostname", sethostname("sg-probe", 8));
  expect_refused("setdomainname", setdomainname("sg-probe", 8));
  expect_refused("acct", acct("/tmp/sg-probe-acct"));
  expect_refused("vhangup", vhangup());
  struct sched_param_compat { int priority; } param = {1};
  expect_refused("sched_fifo", syscall(SYS_sched_setscheduler, 0, 1 /* SCHED_FIFO */, &param));
  expect_refused("nice_minus", syscall(SYS_setpriority, 0 /* PRIO_PROCESS */, 0, -10));
  expect_refused("move_pages1", syscall(SYS_move_pages, 1, 0UL, NULL, NULL, NULL, 0));
  expect_refused("migrate_pages1", syscall(SYS_migrate_pages, 1, 64UL, NULL, NULL));
  /* Real-time I/O priority needs CAP_SYS_ADMIN (ioprio_set(2)); IOPRIO_CLASS_RT << 13. */
  expect_refused("ioprio_rt", syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (1 << 13) | 0));
  /* RLIMIT_MEMLOCK is 64 KiB: locking 1 MiB must fail. */
  static char locked[1 << 20];
  expect_refused("mlock_1mb", mlock(locked, sizeof locked));
  return report_end();
}

/* proc1-mem: PID 1 (sandgate-init) cannot be read or written through /proc/1/mem, the
 * ptrace-equivalent door that the seccomp filter does not cover (proc(5): access needs
 * PTRACE_MODE_ATTACH; a dumpable same-uid init grants it). A writable init could be made to
 * drop its PR_SET_PDEATHSIG fence and outlive its supervisor. Also reports what /proc/1/exe
 * shows (exe=PATH or exe=ERRNO): the test checks it is no host path. */
static int proc1_mem(int argc, char **argv) {
  (void)argc;
  (void)argv;
  int fd = open("/proc/1/mem", O_RDWR | O_CLOEXEC);
  expect_refused("open_rdwr", fd);
  close_if_open(fd);
  fd = open("/proc/1/mem", O_RDONLY | O_CLOEXEC);
  expect_refused("open_rdonly", fd);
  close_if_open(fd);
  char target[256];
  ssize_t n = readlink("/proc/1/exe", target, sizeof target - 1);
  if (n >= 0) {
    target[n] = '\0';
    note("exe", "%s", target);
  } else {
    note("exe", "%s", errno_name(errno));
  }
  return report_end();
}

const struct probe kernel_api_probes[] = {
    {"keyctl", 'B', keyctl_probe, "add_key/request_key/keyctl refused"},
    {"bpf", 'B', bpf_probe, "bpf(2) map and program creation refused"},
    {"perf-event", 'B', perf_event, "perf_event_open(2) refused"},
    {"userfaultfd", 'B', userfaultfd_probe, "userfaultfd(2) refused"},
    {"io-uring", 'B', io_uring, "io_uring_setup(2) refused"},
    {"ptrace", 'B', ptrace_probe, "ptrace attach/seize of PID 1 refused"},
    {"process-vm", 'B', process_vm, "process_vm_readv/writev of PID 1 refused"},
    {"kexec", 'B', kexec, "kexec_load/kexec_file_load refused"},
    {"modules", 'B', modules, "init_module/finit_module/delete_module refused"},
    {"open-by-handle", 'B', open_by_handle, "open_by_handle_at with a forged handle refused"},
    {"reboot", 'B', reboot_probe, "reboot(2) refused"},
    {"swapon", 'B', swapon_probe, "swapon/swapoff refused"},
    {"clock", 'B', clock_probe, "clock_settime/settimeofday/adjtimex refused"},
    {"personality", 'B', personality_probe, "personality(READ_IMPLIES_EXEC) refused"},
    {"syslog", 'B', syslog_probe, "syslog(2) refused"},
    {"iopl", 'B', iopl_probe, "iopl/ioperm refused"},
    {"misc-privileged", 'B', misc_privileged, "sethostname, acct, vhangup, SCHED_FIFO, nice<0, move_pages, RT ioprio, mlock refused"},
    {"proc1-mem", 'B', proc1_mem, "/proc/1/mem of sandgate-init cannot be opened"},
    PROBE_TABLE_END,
};
