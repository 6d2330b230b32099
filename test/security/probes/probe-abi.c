/*
 * Class B (foreign ABIs and socket families): the i386 (int $0x80) and x32 entry points
 * must not reach the kernel with an unfiltered syscall table, and socket families that
 * bypass the network namespace or expose kernel attack surface are refused.
 */
#include "probe.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

struct i386_call { long nr, arg1; };

/* Runs one i386 syscall through int $0x80 from this 64-bit process. The i386 ABI returns
 * -errno in eax; the kernel zeroes r8-r11 on this path (arch/x86/entry/entry_64_compat.S). */
static int try_int80(void *arg) {
  const struct i386_call *call = arg;
  long result;
  __asm__ volatile("int $0x80"
                   : "=a"(result)
                   : "a"(call->nr), "b"(call->arg1), "c"(0L), "d"(0L)
                   : "memory", "r8", "r9", "r10", "r11");
  if (result < 0 && result > -4096) return (int)-result;
  return 0;
}

/* int80 [direct]: i386 syscalls are refused or kill the caller (SIGSYS): getpid and
 * unshare(NEWUSER), each in a child; with "direct", getpid in the probe process itself (the
 * test then expects the probe to die of SIGSYS before it prints anything). */
static int int80(int argc, char **argv) {
  if (argc > 0 && strcmp(argv[0], "direct") == 0) {
    struct i386_call getpid_call = {20, 0};
    int err = try_int80(&getpid_call);
    if (err == 0) breach("getpid", "OK"); else note("getpid", "%s", errno_name(err));
    return report_end();
  }
  struct i386_call calls[] = {{20 /* i386 getpid */, 0}, {310 /* i386 unshare */, CLONE_NEWUSER}};
  const char *names[] = {"getpid", "unshare_newuser"};
  for (size_t i = 0; i < 2; i++) {
    char result[64];
    if (run_in_child(try_int80, &calls[i], result, sizeof result)) breach(names[i], "OK");
    else note(names[i], "%s", result);
  }
  return report_end();
}

#define X32_SYSCALL_BIT 0x40000000L

static int try_x32(void *arg) {
  const struct i386_call *call = arg;
  return syscall(X32_SYSCALL_BIT | call->nr, call->arg1) < 0 ? errno : 0;
}

/* x32: syscalls with the x32 bit (nr | 0x40000000) are refused or kill the caller. */
static int x32(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct i386_call calls[] = {{SYS_getpid, 0}, {SYS_unshare, CLONE_NEWUSER}};
  const char *names[] = {"getpid", "unshare_newuser"};
  for (size_t i = 0; i < 2; i++) {
    char result[64];
    if (run_in_child(try_x32, &calls[i], result, sizeof result)) breach(names[i], "OK");
    else note(names[i], "%s", result);
  }
  return report_end();
}

struct family { const char *name; int domain, type, protocol; };

/* Families that reach the host (vsock), raw link/IP access, or rarely used protocol code
 * with a history of kernel bugs. Nothing is ever connected: creation alone is the breach. */
static const struct family families[] = {
    {"AF_ALG", 38, SOCK_SEQPACKET, 0},
    {"AF_VSOCK", 40, SOCK_STREAM, 0},
    {"AF_PACKET_RAW", AF_PACKET, SOCK_RAW, 0x0300 /* htons(ETH_P_ALL) */},
    {"AF_PACKET_DGRAM", AF_PACKET, SOCK_DGRAM, 0x0300},
    {"AF_INET_SOCK_PACKET", AF_INET, SOCK_PACKET, 0x0300},
    {"AF_INET_RAW", AF_INET, SOCK_RAW, IPPROTO_RAW},
    {"AF_INET_RAW_ICMP", AF_INET, SOCK_RAW, IPPROTO_ICMP},
    {"AF_INET6_RAW", AF_INET6, SOCK_RAW, IPPROTO_RAW},
    {"AF_KEY", 15, SOCK_RAW, 2 /* PF_KEY_V2 */},
    {"AF_TIPC", 30, SOCK_RDM, 0},
    {"AF_RDS", 21, SOCK_SEQPACKET, 0},
    {"AF_BLUETOOTH", 31, SOCK_RAW, 0},
    {"AF_CAN", 29, SOCK_RAW, 1},
    {"AF_XDP", 44, SOCK_RAW, 0},
    {"AF_LLC", 26, SOCK_DGRAM, 0},
    {"AF_X25", 9, SOCK_SEQPACKET, 0},
    {"AF_AX25", 3, SOCK_SEQPACKET, 0},
    {"AF_APPLETALK", 5, SOCK_DGRAM, 0},
    {"AF_NFC", 39, SOCK_SEQPACKET, 0},
    {"AF_SMC", 43, SOCK_STREAM, 0},
    {"AF_KCM", 41, SOCK_DGRAM, 0},
    {"AF_QIPCRTR", 42, SOCK_DGRAM, 0},
    {"AF_MCTP", 45, SOCK_DGRAM, 0},
    {"AF_PPPOX", 24, SOCK_STREAM, 0},
    {"AF_IEEE802154", 36, SOCK_RAW, 0},
};

/* sockets: every family above is refused at socket(2). */
static int sockets(int argc, char **argv) {
  (void)argc;
  (void)argv;
  for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
    int fd = socket(families[i].domain, families[i].type | SOCK_CLOEXEC, families[i].protocol);
    expect_refused(families[i].name, fd);
    if (fd >= 0) close(fd);
  }
  /* The kernel reads the family as an int: junk in the upper 32 bits must not get AF_ALG or
   * AF_VSOCK past a filter that compares the whole register. */
  long fd_high = syscall(SYS_socket, (long)(1UL << 32) | 38, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  expect_refused("AF_ALG_hi32", fd_high);
  if (fd_high >= 0) close((int)fd_high);
  fd_high = syscall(SYS_socket, (long)(1UL << 32) | 40, SOCK_STREAM | SOCK_CLOEXEC, 0);
  expect_refused("AF_VSOCK_hi32", fd_high);
  if (fd_high >= 0) close((int)fd_high);
  /* Ordinary families work (a sandbox is useless without them): noted, not judged. */
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  note("AF_INET_STREAM", "%s", fd >= 0 ? "OK" : errno_name(errno));
  if (fd >= 0) close(fd);
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  note("AF_UNIX", "%s", fd >= 0 ? "OK" : errno_name(errno));
  if (fd >= 0) close(fd);
  return report_end();
}

const struct probe abi_probes[] = {
    {"int80", 'B', int80, "i386 int $0x80 syscalls refused or killed"},
    {"x32", 'B', x32, "x32 syscalls refused or killed"},
    {"sockets", 'B', sockets, "AF_ALG/AF_VSOCK/AF_PACKET/raw and rare families refused"},
    PROBE_TABLE_END,
};
