// The tables of the "default" seccomp profile (x86-64 only). seccomp-policy.cc turns them into
// libseccomp rules; docs/seccomp.md gives the reason for every group and compares the whole
// with Docker's default profile (moby/profiles seccomp/default.json).
//
// Model: an allow-list. Whatever is not allowed here fails with EPERM (the filter's default
// action), except clone3, which fails with ENOSYS so that glibc falls back to clone(2), whose
// flags the filter can read. Foreign ABIs (i386, x32) kill the process.
#pragma once

#include <cstdint>

namespace sandgate::seccomp_default {

// Allowed with any arguments. Names as libseccomp spells them (x86-64 syscall table).
inline constexpr const char* kAllowed[] = {
    // Files and descriptors.
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
    "pwritev2", "lseek", "sendfile", "splice", "tee", "vmsplice", "copy_file_range", "open",
    "openat", "openat2", "creat", "close", "close_range", "dup", "dup2", "dup3", "fcntl", "flock",
    "fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "fallocate", "fadvise64",
    "readahead", "truncate", "ftruncate", "pipe", "pipe2",
    // Names, metadata, directories (permission checks stay the kernel's).
    "stat", "fstat", "lstat", "newfstatat", "statx", "statfs", "fstatfs", "access", "faccessat",
    "faccessat2", "readlink", "readlinkat", "getdents", "getdents64", "getcwd", "chdir", "fchdir",
    "mkdir", "mkdirat", "rmdir", "rename", "renameat", "renameat2", "link", "linkat", "symlink",
    "symlinkat", "unlink", "unlinkat", "chmod", "fchmod", "fchmodat", "fchmodat2", "chown",
    "fchown", "lchown", "fchownat", "umask", "utime", "utimes", "utimensat", "futimesat", "mknod",
    "mknodat", "getxattr", "lgetxattr", "fgetxattr", "setxattr", "lsetxattr", "fsetxattr",
    "listxattr", "llistxattr", "flistxattr", "removexattr", "lremovexattr", "fremovexattr",
    "inotify_init", "inotify_init1", "inotify_add_watch", "inotify_rm_watch",
    // Memory of the calling process.
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "mincore", "msync", "mlock",
    "mlock2", "mlockall", "munlock", "munlockall", "remap_file_pages", "membarrier",
    "memfd_create", "memfd_secret", "pkey_alloc", "pkey_free", "pkey_mprotect",
    "map_shadow_stack", "cachestat",
    // Processes and threads (clone is below, with its flags checked).
    "fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "kill",
    "tkill", "tgkill", "getpid", "getppid", "gettid", "getpgid", "getpgrp", "setpgid", "getsid",
    "setsid", "set_tid_address", "set_robust_list", "get_robust_list", "rseq", "arch_prctl",
    "prctl", "seccomp", "pidfd_open", "pidfd_send_signal", "process_mrelease", "restart_syscall",
    "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
    // Credentials and limits (changing them needs capabilities the sandbox does not have).
    "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups", "setuid",
    "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
    "setgroups", "capget", "capset", "getrlimit", "setrlimit", "prlimit64", "getrusage", "times",
    // Scheduling (bounded by the cgroup and by RLIMIT_NICE / RLIMIT_RTPRIO).
    "sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getattr", "sched_setattr",
    "sched_getparam", "sched_setparam", "sched_getscheduler", "sched_setscheduler",
    "sched_get_priority_max", "sched_get_priority_min", "sched_rr_get_interval", "getpriority",
    "setpriority", "ioprio_get", "ioprio_set", "getcpu",
    // Signals.
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigsuspend",
    "rt_sigtimedwait", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "signalfd",
    "signalfd4", "pause", "alarm",
    // Time: reading clocks and timers only (setting a clock is refused).
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
    "getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime",
    "timer_getoverrun", "timer_delete", "timerfd_create", "timerfd_settime", "timerfd_gettime",
    // Waiting and events.
    "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
    "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "futex", "futex_waitv",
    "futex_wake", "futex_wait", "futex_requeue",
    // Sockets (socket and socketpair are below, with the address family checked).
    "connect", "bind", "listen", "accept", "accept4", "getsockname", "getpeername", "getsockopt",
    "setsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown",
    // System V and POSIX IPC (private to the sandbox's IPC namespace).
    "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop", "semtimedop", "semctl", "shmget",
    "shmat", "shmdt", "shmctl", "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive",
    "mq_notify", "mq_getsetattr",
    // Linux native AIO contexts are refused at io_setup (below); these act only on a context.
    "io_destroy", "io_submit", "io_cancel", "io_getevents", "io_pgetevents",
    // System information that Docker exposes too.
    "uname", "sysinfo", "getrandom",
    // ioctl is below: allowed but for four terminal commands.
};

// Syscalls newer than the libseccomp this was written against (2.5.4 knows up to 456). Used only
// when libseccomp cannot resolve the name; when it can, the numbers must agree (checked).
// Source: arch/x86/entry/syscalls/syscall_64.tbl.
struct NumberedSyscall {
  const char* name;
  int number;
};
inline constexpr NumberedSyscall kAllowedByNumber[] = {
    {"mseal", 462},        // seals the caller's own mappings (Linux 6.10)
    {"setxattrat", 463},   // the *xattr calls relative to a directory fd (Linux 6.13)
    {"getxattrat", 464},
    {"listxattrat", 465},
    {"removexattrat", 466},
};

// Refused with EPERM by omission from kAllowed. Listed so that the builder can check that no
// edit ever allows one of them, and so that docs and tests have one list to follow. (clone,
// personality, socket, socketpair and ioctl are allowed with argument checks, below.)
inline constexpr const char* kRefused[] = {
    // New namespaces and joining others (clone with CLONE_NEW* is refused by its flag rule).
    "unshare", "setns",
    // Mounts and the root directory, including the new mount API.
    "mount", "umount2", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount", "open_tree",
    "mount_setattr", "pivot_root", "chroot",
    // Kernel keyrings (not namespaced).
    "add_key", "request_key", "keyctl",
    // Kernel programmability and observation.
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "lookup_dcookie", "fanotify_init", "fanotify_mark",
    // Other processes' memory and descriptors.
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "pidfd_getfd", "kcmp",
    // The kernel itself and the machine.
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "nfsservctl", "syslog", "vhangup",
    "sethostname", "setdomainname", "iopl", "ioperm", "modify_ldt", "set_thread_area",
    "get_thread_area", "uselib", "sysfs", "_sysctl", "ustat",
    // File handles bypass path permission checks (the 2014 "shocker" container escape).
    "open_by_handle_at", "name_to_handle_at",
    // Clocks: setting the time (the kernel cannot read adjtimex's mode through seccomp).
    "clock_settime", "settimeofday", "adjtimex", "clock_adjtime",
    // Native AIO contexts come from one host-wide pool (fs.aio-max-nr, fs/aio.c): one sandbox
    // could take it all and break AIO for every other sandbox and the host. Docker allows it;
    // glibc's POSIX aio uses threads, not io_setup, so ordinary programs do not notice.
    "io_setup",
    // NUMA memory policy (Docker requires CAP_SYS_NICE).
    "mbind", "set_mempolicy", "get_mempolicy", "migrate_pages", "move_pages",
    "set_mempolicy_home_node",
};

// clone(2) flags that create namespaces: clone is allowed only when none is set. The kernel
// reads the low 32 bits of the flags (kernel/fork.c), which a 32-bit mask covers.
inline constexpr std::uint64_t kCloneNewNamespaceMask = 0x7E020000;  // NEWNS|NEWCGROUP|NEWUTS|
                                                                       // NEWIPC|NEWUSER|NEWPID|NEWNET

// personality(2) values allowed (Docker's list): PER_LINUX, PER_LINUX32, UNAME26,
// PER_LINUX32|UNAME26 and 0xffffffff (query). Refused: ADDR_NO_RANDOMIZE (turns ASLR off),
// READ_IMPLIES_EXEC, and the other execution domains.
inline constexpr std::uint32_t kPersonalityAllowed[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

// socket(2) address families allowed: AF_UNIX, AF_INET, AF_INET6, AF_NETLINK. Everything else
// (AF_PACKET, AF_ALG, AF_VSOCK, AF_KEY, AF_BLUETOOTH...) gets EPERM. socketpair(2): AF_UNIX only,
// the one family that implements it.
inline constexpr std::uint32_t kSocketFamilies[] = {1, 2, 10, 16};
inline constexpr std::uint32_t kSocketpairFamilies[] = {1};

// ioctl(2) commands refused: TIOCSTI (push input into a terminal), TIOCLINUX (console
// selection/paste), TIOCCONS (redirect the console), TIOCSETD (line disciplines, a recurring
// source of kernel bugs). The kernel truncates cmd to unsigned int (fs/ioctl.c), so only the
// low 32 bits of the argument count.
inline constexpr std::uint32_t kIoctlRefused[] = {0x5412, 0x541C, 0x541D, 0x5423};

}  // namespace sandgate::seccomp_default
