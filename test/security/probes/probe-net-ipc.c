/*
 * Class D (network and IPC): only `lo` exists, the host's loopback services, unix sockets
 * (path and abstract), SysV IPC, POSIX message queues and /dev/shm are invisible, and two
 * sandboxes cannot see each other's (hold/peek).
 */
#include "probe.h"

#include <fcntl.h>
#include <mqueue.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/audit.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <sys/wait.h>
#include <netinet/in.h>

/* net-ifaces [PORT]: the only interface is lo; no listener on PORT (the test's host
 * listener) appears in /proc/net/tcp{,6}. */
static int net_ifaces(int argc, char **argv) {
  long port = argc > 0 ? (long)arg_number(argv[0], "PORT") : -1;
  struct if_nameindex *ifs = if_nameindex();
  char names[512] = "";
  size_t used = 0;
  for (struct if_nameindex *i = ifs; i != NULL && i->if_index != 0; i++) {
    int n = snprintf(names + used, sizeof names - used, "%s%s", used > 0 ? "," : "", i->if_name);
    if (n > 0 && (size_t)n < sizeof names - used) used += (size_t)n;
    if (strcmp(i->if_name, "lo") != 0) breach("interface", "%s", i->if_name);
  }
  if (ifs != NULL) if_freenameindex(ifs);
  note("interfaces", "%s", used > 0 ? names : "-");
  /* /proc/net/dev: two header lines, then one "name: counters" row per interface. */
  char dev[8192];
  int dev_rows = 0;
  if (read_small_file("/proc/net/dev", dev, sizeof dev) > 0) {
    char *save = NULL;
    for (char *row = strtok_r(dev, "\n", &save); row != NULL; row = strtok_r(NULL, "\n", &save)) {
      char *colon = strchr(row, ':');
      if (colon == NULL) continue;
      *colon = '\0';
      while (*row == ' ') row++;
      dev_rows++;
      if (strcmp(row, "lo") != 0) breach("proc_net_dev", "%s", row);
    }
  }
  note("proc_net_dev_interfaces", "%d", dev_rows);
  if (port > 0) {
    const char *tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    char needle[32];
    snprintf(needle, sizeof needle, ":%04lX ", port);
    for (size_t t = 0; t < 2; t++) {
      char buf[65536];
      if (read_small_file(tables[t], buf, sizeof buf) > 0 && strstr(buf, needle) != NULL) breach("host_listener_visible", "%s", tables[t]);
    }
  }
  return report_end();
}

/* Connects to "tcp:ADDR:PORT", "tcp6:ADDR:PORT", "unix:PATH" or "abstract:NAME" and returns
 * "OK", "TIMEOUT" or an errno name. */
static const char *try_connect(const char *target) {
  struct sockaddr_storage addr;
  socklen_t len = 0;
  int domain = 0;
  memset(&addr, 0, sizeof addr);
  if (strncmp(target, "tcp:", 4) == 0 || strncmp(target, "tcp6:", 5) == 0) {
    int v6 = target[3] == '6';
    char host[128];
    const char *rest = target + (v6 ? 5 : 4);
    const char *colon = strrchr(rest, ':');
    if (colon == NULL || (size_t)(colon - rest) >= sizeof host) return "BADTARGET";
    memcpy(host, rest, (size_t)(colon - rest));
    host[colon - rest] = '\0';
    int port = atoi(colon + 1);
    if (v6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;
      a->sin6_family = AF_INET6;
      a->sin6_port = htons((uint16_t)port);
      if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return "BADTARGET";
      len = sizeof *a;
      domain = AF_INET6;
    } else {
      struct sockaddr_in *a = (struct sockaddr_in *)&addr;
      a->sin_family = AF_INET;
      a->sin_port = htons((uint16_t)port);
      if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return "BADTARGET";
      len = sizeof *a;
      domain = AF_INET;
    }
  } else if (strncmp(target, "unix:", 5) == 0 || strncmp(target, "abstract:", 9) == 0) {
    int abstract = target[0] == 'a';
    const char *name = target + (abstract ? 9 : 5);
    struct sockaddr_un *a = (struct sockaddr_un *)&addr;
    a->sun_family = AF_UNIX;
    size_t name_len = strlen(name);
    if (name_len + 1 >= sizeof a->sun_path) return "BADTARGET";
    memcpy(a->sun_path + abstract, name, name_len);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + abstract + name_len + (abstract ? 0 : 1));
    domain = AF_UNIX;
  } else {
    return "BADTARGET";
  }
  int fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_name(errno);
  const char *result = "OK";
  if (connect(fd, (struct sockaddr *)&addr, len) != 0) {
    if (errno != EINPROGRESS) {
      result = errno_name(errno);
    } else {
      struct pollfd p = {fd, POLLOUT, 0};
      if (poll(&p, 1, 3000) == 0) {
        result = "TIMEOUT";
      } else {
        int err = 0;
        socklen_t err_len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len);
        result = err == 0 ? "OK" : errno_name(err);
      }
    }
  }
  close(fd);
  return result;
}

/* connect TARGET...: every target is unreachable. */
static int connect_probe(int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    const char *result = try_connect(argv[i]);
    if (strcmp(result, "OK") == 0) breach(argv[i], "OK");
    else if (strcmp(result, "BADTARGET") == 0) probe_fail(argv[i], "BADTARGET");
    else note(argv[i], "%s", result);
  }
  return report_end();
}

static int sysv_table_rows(const char *path) {
  char buf[8192];
  long n = read_small_file(path, buf, sizeof buf);
  if (n < 0) return -1;
  int rows = 0;
  for (long i = 0; i < n; i++) rows += buf[i] == '\n';
  return rows > 0 ? rows - 1 : 0; /* minus the header line */
}

/* sysv-ipc KEY SHMID MSGID SEMID: the host's SysV objects (made by the test) cannot be found
 * by key or used by id, and /proc/sysvipc lists nothing. */
static int sysv_ipc(int argc, char **argv) {
  if (argc < 4) {
    probe_fail("usage", "sysv-ipc_KEY_SHMID_MSGID_SEMID");
    return report_end();
  }
  key_t key = (key_t)arg_number(argv[0], "KEY");
  int shmid = (int)arg_number(argv[1], "SHMID"), msgid = (int)arg_number(argv[2], "MSGID"), semid = (int)arg_number(argv[3], "SEMID");
  expect_refused("shmget_key", shmget(key, 0, 0));
  expect_refused("msgget_key", msgget(key, 0));
  expect_refused("semget_key", semget(key, 0, 0));
  struct shmid_ds shm;
  expect_refused("shmctl_id", shmctl(shmid, IPC_STAT, &shm));
  void *at = shmat(shmid, NULL, SHM_RDONLY);
  expect_refused("shmat_id", at == (void *)-1 ? -1 : 0);
  struct msqid_ds msq;
  expect_refused("msgctl_id", msgctl(msgid, IPC_STAT, &msq));
  struct semid_ds sem;
  expect_refused("semctl_id", semctl(semid, 0, IPC_STAT, &sem));
  const char *tables[] = {"/proc/sysvipc/shm", "/proc/sysvipc/msg", "/proc/sysvipc/sem"};
  for (size_t i = 0; i < 3; i++) {
    int rows = sysv_table_rows(tables[i]);
    if (rows > 0) breach(tables[i], "%d", rows); else note(tables[i], "%d", rows);
  }
  return report_end();
}

/* posix-mq NAME: the host's POSIX message queue (made by the test) does not exist here. */
static int posix_mq(int argc, char **argv) {
  if (argc < 1) {
    probe_fail("usage", "posix-mq_NAME");
    return report_end();
  }
  mqd_t q = mq_open(argv[0], O_RDONLY | O_CLOEXEC);
  expect_refused("mq_open", q == (mqd_t)-1 ? -1 : 0);
  if (q != (mqd_t)-1) mq_close(q);
  return report_end();
}

/* dev-shm NAME: the host's /dev/shm/NAME is absent, the sandbox's /dev/shm is empty, and a
 * file created there (printed as own=…) is for the test to look for on the host. */
static int dev_shm(int argc, char **argv) {
  if (argc < 1) {
    probe_fail("usage", "dev-shm_NAME");
    return report_end();
  }
  char path[512];
  snprintf(path, sizeof path, "/dev/shm/%s", argv[0]);
  struct stat st;
  expect_refused("host_file", stat(path, &st));
  snprintf(path, sizeof path, "/dev/shm/%s-inside", argv[0]);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  note("own", "%s", fd >= 0 ? path : errno_name(errno));
  if (fd >= 0) close(fd);
  return report_end();
}

/* A SysV key derived from the marker, shared by hold and peek. */
static key_t marker_key(const char *marker) {
  uint32_t hash = 2166136261u;
  for (const char *c = marker; *c != '\0'; c++) hash = (hash ^ (uint8_t)*c) * 16777619u;
  return (key_t)(hash & 0x7fffffff);
}

/* hold MARKER PORT: creates every shareable object under MARKER (files in /tmp, home and
 * /dev/shm, a SysV segment, a POSIX queue, an abstract and a TCP listener), prints READY,
 * then waits for EOF on stdin (bounded by alarm) so another sandbox can `peek`. */
static int hold(int argc, char **argv) {
  if (argc < 2) {
    probe_fail("usage", "hold_MARKER_PORT");
    return report_end();
  }
  const char *marker = argv[0];
  int port = (int)arg_number(argv[1], "PORT");
  alarm(120);
  char path[512];
  const char *dirs[] = {"/tmp", "/home/user", "/dev/shm"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dirs[i], marker);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) probe_fail(dirs[i], "%s", errno_name(errno)); else close(fd);
  }
  if (shmget(marker_key(marker), 4096, IPC_CREAT | 0666) < 0) probe_fail("shmget", "%s", errno_name(errno));
  snprintf(path, sizeof path, "/%s", marker);
  struct mq_attr mq = {.mq_maxmsg = 1, .mq_msgsize = 16};
  if (mq_open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666, &mq) == (mqd_t)-1) note("mq_open", "%s", errno_name(errno));
  int ux = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un un = {.sun_family = AF_UNIX};
  size_t marker_len = strlen(marker) < sizeof un.sun_path - 1 ? strlen(marker) : sizeof un.sun_path - 2;
  memcpy(un.sun_path + 1, marker, marker_len);
  if (bind(ux, (struct sockaddr *)&un, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + marker_len)) != 0 || listen(ux, 4) != 0) {
    probe_fail("abstract_listen", "%s", errno_name(errno));
  }
  int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = {htonl(INADDR_LOOPBACK)}};
  int one = 1;
  setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(tcp, (struct sockaddr *)&in, sizeof in) != 0 || listen(tcp, 4) != 0) probe_fail("tcp_listen", "%s", errno_name(errno));
  report_progress("READY", "pid=%d", getpid());
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {
  }
  return report_end();
}

/* peek MARKER PORT: nothing that `hold` made in another sandbox is visible from this one. */
static int peek(int argc, char **argv) {
  if (argc < 2) {
    probe_fail("usage", "peek_MARKER_PORT");
    return report_end();
  }
  const char *marker = argv[0];
  char path[512];
  const char *dirs[] = {"/tmp", "/home/user", "/dev/shm"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/%s", dirs[i], marker);
    struct stat st;
    expect_refused(dirs[i], stat(path, &st));
  }
  expect_refused("shmget", shmget(marker_key(marker), 0, 0));
  snprintf(path, sizeof path, "/%s", marker);
  mqd_t q = mq_open(path, O_RDONLY | O_CLOEXEC);
  expect_refused("mq_open", q == (mqd_t)-1 ? -1 : 0);
  char target[300];
  snprintf(target, sizeof target, "abstract:%s", marker);
  const char *result = try_connect(target);
  if (strcmp(result, "OK") == 0) breach("abstract", "OK"); else note("abstract", "%s", result);
  snprintf(target, sizeof target, "tcp:127.0.0.1:%s", argv[1]);
  result = try_connect(target);
  if (strcmp(result, "OK") == 0) breach("tcp", "OK"); else note("tcp", "%s", result);
  return report_end();
}

/* netlink: the kernel's host-wide netlink feeds stay closed to the sandbox: the process
 * events connector (every fork/exec/exit on the host, with pids and uids) delivers nothing,
 * and the audit socket refuses requests (both are init-namespace only in the kernel). */
static int netlink_probe(int argc, char **argv) {
  (void)argc;
  (void)argv;
  /* Process events connector (drivers/connector/cn_proc.c): subscribe, make an event happen
   * (a fork and exit here), and see nothing arrive within a bounded wait. */
  int cn = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
  if (cn < 0) {
    note("connector", "%s", errno_name(errno));
  } else {
    struct sockaddr_nl addr = {.nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC, .nl_pid = 0};
    if (bind(cn, (struct sockaddr *)&addr, sizeof addr) != 0) {
      note("connector_bind", "%s", errno_name(errno));
    } else {
      struct {
        struct nlmsghdr header;
        struct cn_msg msg;
        enum proc_cn_mcast_op op;
      } __attribute__((packed)) listen_request;
      memset(&listen_request, 0, sizeof listen_request);
      listen_request.header.nlmsg_len = sizeof listen_request;
      listen_request.header.nlmsg_type = NLMSG_DONE;
      listen_request.header.nlmsg_pid = (uint32_t)getpid();
      listen_request.msg.id.idx = CN_IDX_PROC;
      listen_request.msg.id.val = CN_VAL_PROC;
      listen_request.msg.len = sizeof listen_request.op;
      listen_request.op = PROC_CN_MCAST_LISTEN;
      note("connector_listen", "%s", send(cn, &listen_request, sizeof listen_request, 0) < 0 ? errno_name(errno) : "sent");
      pid_t child = fork();
      if (child == 0) _exit(0);
      waitpid(child, NULL, 0);
      struct pollfd p = {cn, POLLIN, 0};
      int events = 0;
      char buf[4096];
      while (events < 100 && poll(&p, 1, 500) > 0 && recv(cn, buf, sizeof buf, MSG_DONTWAIT) > 0) events++;
      if (events > 0) breach("proc_events", "%d", events); else note("proc_events", "0");
    }
    close(cn);
  }
  /* Audit (kernel/audit.c): requests from outside the initial namespaces are refused. */
  int audit = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
  if (audit < 0) {
    note("audit", "%s", errno_name(errno));
  } else {
    struct nlmsghdr get = {.nlmsg_len = NLMSG_LENGTH(0), .nlmsg_type = AUDIT_GET, .nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK};
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(audit, &get, get.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
      note("audit_get", "%s", errno_name(errno));
    } else {
      char buf[8192];
      struct pollfd p = {audit, POLLIN, 0};
      ssize_t n = poll(&p, 1, 1000) > 0 ? recv(audit, buf, sizeof buf, MSG_DONTWAIT) : -1;
      const struct nlmsghdr *reply = (const struct nlmsghdr *)buf;
      if (n >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) && reply->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *error = NLMSG_DATA(reply);
        if (error->error == 0) breach("audit_get", "acked"); else note("audit_get", "%s", errno_name(-error->error));
      } else if (n > 0) {
        breach("audit_get", "status_reply");
      } else {
        note("audit_get", "no_reply");
      }
    }
    close(audit);
  }
  return report_end();
}

const struct probe net_ipc_probes[] = {
    {"netlink", 'D', netlink_probe, "proc connector and audit netlink closed"},
    {"net-ifaces", 'D', net_ifaces, "only lo; host listeners absent from /proc/net/tcp"},
    {"connect", 'D', connect_probe, "host loopback, LAN, metadata, unix and abstract sockets unreachable"},
    {"sysv-ipc", 'D', sysv_ipc, "host SysV shm/msg/sem invisible"},
    {"posix-mq", 'D', posix_mq, "host POSIX message queue invisible"},
    {"dev-shm", 'D', dev_shm, "host /dev/shm invisible"},
    {"hold", 'D', hold, "creates shareable objects under a marker and waits (pair of peek)"},
    {"peek", 'D', peek, "another sandbox's held objects are invisible"},
    PROBE_TABLE_END,
};
