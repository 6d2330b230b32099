/*
 * Class E (resources): every bomb stops at its limit: tasks (pids cgroup), memory (OOM kill
 * confined to the sandbox), tmpfs size and inodes, file size, open files; CPU burn is
 * measured here and judged by the test against the cgroup's figures.
 */
#include "probe.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB (1024L * 1024L)

/* Waits until the test writes a line or closes stdin, at most `seconds` (alarm kills us). */
static void wait_for_test(unsigned seconds) {
  alarm(seconds);
  char c;
  while (read(0, &c, 1) == 1 && c != '\n') {
  }
  alarm(0);
}

/* fork-bomb LIMIT: forks until refused (EAGAIN from the pids cgroup) with fewer than LIMIT
 * tasks, prints "BOMB count=… errno=…" while holding them, and waits for the test to check
 * that the host still spawns processes, then releases them. */
static int fork_bomb(int argc, char **argv) {
  if (argc < 1) {
    probe_fail("usage", "fork-bomb_LIMIT");
    return report_end();
  }
  long limit = (long)arg_number(argv[0], "LIMIT");
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) != 0) {
    probe_fail("pipe", "%s", errno_name(errno));
    return report_end();
  }
  int forked = 0, err = 0;
  double deadline = now_ms() + 15000;
  while (forked < 20000 && now_ms() < deadline) {
    pid_t pid = fork();
    if (pid < 0) {
      err = errno;
      break;
    }
    if (pid == 0) {
      close(gate[1]);
      char c;
      while (read(gate[0], &c, 1) < 0 && errno == EINTR) {
      }
      _exit(0);
    }
    forked++;
  }
  report_progress("BOMB", "count=%d errno=%s", forked, err != 0 ? errno_name(err) : "none");
  wait_for_test(60);
  close(gate[1]);
  while (wait(NULL) > 0 || errno == EINTR) {
  }
  note("forked", "%d", forked);
  note("errno", "%s", err != 0 ? errno_name(err) : "none");
  if (err == 0 || forked >= limit) breach("bounded", "no");
  return report_end();
}

static int thread_gate[2];

static void *blocked_thread(void *arg) {
  (void)arg;
  char c;
  while (read(thread_gate[0], &c, 1) < 0 && errno == EINTR) {
  }
  return NULL;
}

/* thread-bomb LIMIT: threads count as tasks too: pthread_create fails (EAGAIN) below LIMIT. */
static int thread_bomb(int argc, char **argv) {
  if (argc < 1) {
    probe_fail("usage", "thread-bomb_LIMIT");
    return report_end();
  }
  long limit = (long)arg_number(argv[0], "LIMIT");
  if (pipe2(thread_gate, O_CLOEXEC) != 0) {
    probe_fail("pipe", "%s", errno_name(errno));
    return report_end();
  }
  static pthread_t threads[20000];
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  int created = 0, err = 0;
  double deadline = now_ms() + 15000;
  while (created < 20000 && now_ms() < deadline) {
    int rc = pthread_create(&threads[created], &attr, blocked_thread, NULL);
    if (rc != 0) {
      err = rc;
      break;
    }
    created++;
  }
  close(thread_gate[1]);
  for (int i = 0; i < created; i++) pthread_join(threads[i], NULL);
  note("threads", "%d", created);
  note("errno", "%s", err != 0 ? errno_name(err) : "none");
  if (err == 0 || created >= limit) breach("bounded", "no");
  return report_end();
}

/* mem-bomb MAXMB: touches memory 1 MiB at a time; the memory cgroup must OOM-kill it
 * (reason "oom" in the report) before MAXMB. Reaching MAXMB is a breach. */
static int mem_bomb(int argc, char **argv) {
  if (argc < 1) {
    probe_fail("usage", "mem-bomb_MAXMB");
    return report_end();
  }
  long max_mb = (long)arg_number(argv[0], "MAXMB");
  long touched = 0;
  double deadline = now_ms() + 60000;
  while (touched < max_mb && now_ms() < deadline) {
    char *chunk = mmap(NULL, MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (chunk == MAP_FAILED) {
      note("mmap", "%s", errno_name(errno));
      break;
    }
    memset(chunk, 0x5a, MiB);
    touched++;
  }
  note("touched_mb", "%ld", touched);
  if (touched >= max_mb) breach("bounded", "no");
  return report_end();
}

/* fill DIR MAXMB: fills a tmpfs with 8 MiB files (below RLIMIT_FSIZE) until ENOSPC; the
 * size limit must stop it before MAXMB (or the memory cgroup OOM-kills it). */
static int fill(int argc, char **argv) {
  if (argc < 2) {
    probe_fail("usage", "fill_DIR_MAXMB");
    return report_end();
  }
  long max_mb = (long)arg_number(argv[1], "MAXMB");
  signal(SIGXFSZ, SIG_IGN);
  static char block[MiB];
  memset(block, 0x5a, sizeof block);
  long written_mb = 0;
  int err = 0;
  double deadline = now_ms() + 60000;
  for (int file = 0; written_mb < max_mb && err == 0 && now_ms() < deadline; file++) {
    char path[512];
    snprintf(path, sizeof path, "%s/sg-fill-%d", argv[0], file);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
      err = errno;
      break;
    }
    for (int i = 0; i < 8 && written_mb < max_mb; i++) {
      ssize_t n = write(fd, block, sizeof block);
      if (n < (ssize_t)sizeof block) {
        err = n < 0 ? errno : ENOSPC;
        break;
      }
      written_mb++;
    }
    close(fd);
  }
  note("written_mb", "%ld", written_mb);
  note("errno", "%s", err != 0 ? errno_name(err) : "none");
  if (written_mb >= max_mb) breach("bounded", "no");
  return report_end();
}

/* inode-fill DIR MAX: creates empty files until refused (ENOSPC: inode limit or memory)
 * or OOM-killed; MAX files without either is a breach. */
static int inode_fill(int argc, char **argv) {
  if (argc < 2) {
    probe_fail("usage", "inode-fill_DIR_MAX");
    return report_end();
  }
  long max = (long)arg_number(argv[1], "MAX");
  long created = 0;
  int err = 0;
  double deadline = now_ms() + 45000;
  while (created < max) {
    if ((created & 1023) == 0 && now_ms() > deadline) break;
    char path[512];
    snprintf(path, sizeof path, "%s/i%ld", argv[0], created);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      err = errno;
      break;
    }
    close(fd);
    created++;
  }
  note("created", "%ld", created);
  note("errno", "%s", err != 0 ? errno_name(err) : "none");
  if (created >= max) breach("bounded", "no");
  else if (err == 0) probe_fail("deadline", "reached");
  return report_end();
}

/* fsize: RLIMIT_FSIZE holds: a write at the limit fails with EFBIG (SIGXFSZ ignored). */
static int fsize(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct rlimit lim;
  getrlimit(RLIMIT_FSIZE, &lim);
  if (lim.rlim_cur == RLIM_INFINITY) {
    breach("limit", "unlimited");
    return report_end();
  }
  note("limit", "%llu", (unsigned long long)lim.rlim_cur);
  signal(SIGXFSZ, SIG_IGN);
  int fd = open("/tmp/sg-fsize", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    probe_fail("open", "%s", errno_name(errno));
    return report_end();
  }
  note("below", "%s", pwrite(fd, "x", 1, (off_t)lim.rlim_cur - 1) == 1 ? "OK" : errno_name(errno));
  expect_refused("at_limit", pwrite(fd, "x", 1, (off_t)lim.rlim_cur));
  close(fd);
  unlink("/tmp/sg-fsize");
  expect_refused("raise", setrlimit(RLIMIT_FSIZE, &(struct rlimit){RLIM_INFINITY, RLIM_INFINITY}));
  return report_end();
}

/* fd-exhaust: opening files stops with EMFILE at RLIMIT_NOFILE, which cannot be raised. */
static int fd_exhaust(int argc, char **argv) {
  (void)argc;
  (void)argv;
  struct rlimit lim;
  getrlimit(RLIMIT_NOFILE, &lim);
  note("soft", "%llu", (unsigned long long)lim.rlim_cur);
  note("hard", "%llu", (unsigned long long)lim.rlim_max);
  int opened = 0, err = 0;
  double deadline = now_ms() + 20000;
  while (opened < (1 << 21) && now_ms() < deadline) {
    if (open("/dev/null", O_RDONLY | O_CLOEXEC) < 0) {
      err = errno;
      break;
    }
    opened++;
  }
  note("opened", "%d", opened);
  note("errno", "%s", err != 0 ? errno_name(err) : "none");
  if (err == 0 || lim.rlim_cur == RLIM_INFINITY || (rlim_t)opened + 3 > lim.rlim_cur) breach("bounded", "no");
  struct rlimit more = {lim.rlim_max == RLIM_INFINITY ? RLIM_INFINITY : lim.rlim_max + 1, lim.rlim_max == RLIM_INFINITY ? RLIM_INFINITY : lim.rlim_max + 1};
  expect_refused("raise_hard", setrlimit(RLIMIT_NOFILE, &more));
  return report_end();
}

static double burn_until_ms;

static void *burn(void *arg) {
  (void)arg;
  volatile unsigned long spin = 0;
  while (now_ms() < burn_until_ms) {
    for (int i = 0; i < 100000; i++) spin++;
  }
  return NULL;
}

/* cpu-burn MS THREADS: spins THREADS threads for MS ms of wall time and reports the CPU
 * time it got; the test compares the cgroup's cpuMs/wallMs with the --cpu quota. */
static int cpu_burn(int argc, char **argv) {
  if (argc < 2) {
    probe_fail("usage", "cpu-burn_MS_THREADS");
    return report_end();
  }
  long ms = (long)arg_number(argv[0], "MS");
  int count = (int)arg_number(argv[1], "THREADS");
  if (count < 1 || count > 64 || ms < 1 || ms > 60000) {
    probe_fail("range", "MS_1-60000_THREADS_1-64");
    return report_end();
  }
  double start = now_ms();
  burn_until_ms = start + (double)ms;
  pthread_t threads[64];
  for (int i = 0; i < count; i++) pthread_create(&threads[i], NULL, burn, NULL);
  for (int i = 0; i < count; i++) pthread_join(threads[i], NULL);
  double wall = now_ms() - start;
  struct timespec cpu;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  double cpu_ms = (double)cpu.tv_sec * 1000.0 + (double)cpu.tv_nsec / 1e6;
  note("wall_ms", "%.0f", wall);
  note("cpu_ms", "%.0f", cpu_ms);
  note("cores", "%.3f", cpu_ms / wall);
  return report_end();
}

/* aio-exhaust: fs.aio-max-nr is one pool for the whole host (fs/aio.c: aio_nr is global,
 * not per namespace, user or cgroup). io_setup(2) must be refused, or one sandbox takes every
 * AIO context and io_setup fails with EAGAIN for every other process on the host. Holds what
 * it got ("HOLDING …") until the test has tried io_setup on the host, then releases it. */
static int aio_exhaust(int argc, char **argv) {
  (void)argc;
  (void)argv;
  char text[64];
  long pool = read_small_file("/proc/sys/fs/aio-max-nr", text, sizeof text) > 0 ? strtol(text, NULL, 10) : 65536;
  note("aio_max_nr", "%ld", pool);
  enum { EVENTS = 4096, MAX_CONTEXTS = 4096 };
  static unsigned long contexts[MAX_CONTEXTS];
  int taken = 0, err = 0;
  while (taken < MAX_CONTEXTS && (long)taken * EVENTS < pool) {
    unsigned long ctx = 0;
    if (syscall(SYS_io_setup, EVENTS, &ctx) != 0) {
      err = errno;
      break;
    }
    contexts[taken++] = ctx;
  }
  report_progress("HOLDING", "contexts=%d errno=%s", taken, err != 0 ? errno_name(err) : "none");
  wait_for_test(60);
  for (int i = 0; i < taken; i++) syscall(SYS_io_destroy, contexts[i]);
  note("contexts", "%d", taken);
  note("io_setup", "%s", err != 0 ? errno_name(err) : "OK");
  if ((long)taken * EVENTS >= pool) breach("host_pool", "exhausted");
  return report_end();
}

/* kmem-bomb socket|pipe MAXMB: queues data in kernel buffers (unix socketpairs, or pipes
 * grown to their maximum) that no process ever reads. Those pages must be charged to the
 * memory cgroup: the OOM killer ends it (reason "oom") before MAXMB; reaching it is a breach. */
static int kmem_bomb(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[0], "socket") != 0 && strcmp(argv[0], "pipe") != 0)) {
    probe_fail("usage", "kmem-bomb_socket|pipe_MAXMB");
    return report_end();
  }
  int sockets = strcmp(argv[0], "socket") == 0;
  long long max = arg_number(argv[1], "MAXMB") * MiB;
  static char block[65536];
  memset(block, 0x5a, sizeof block);
  long long queued = 0;
  int err = 0;
  double deadline = now_ms() + 30000;
  while (queued < max && err == 0 && now_ms() < deadline) {
    int ends[2];
    int rc = sockets ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, ends) : pipe2(ends, O_NONBLOCK | O_CLOEXEC);
    if (rc != 0) {
      err = errno;
      break;
    }
    if (!sockets) fcntl(ends[1], F_SETPIPE_SZ, 1 << 20);
    for (;;) {
      ssize_t n = write(sockets ? ends[0] : ends[1], block, sizeof block);
      if (n <= 0) break; /* EAGAIN: this buffer is full, open the next */
      queued += n;
      if (queued >= max) break;
    }
  }
  note("queued_mb", "%lld", queued / MiB);
  note("errno", "%s", err != 0 ? errno_name(err) : "none");
  if (queued >= max) breach("bounded", "no");
  return report_end();
}

const struct probe resource_probes[] = {
    {"aio-exhaust", 'E', aio_exhaust, "io_setup refused: the host-wide AIO pool cannot be taken"},
    {"kmem-bomb", 'E', kmem_bomb, "socket/pipe buffers are charged to the memory limit"},
    {"fork-bomb", 'E', fork_bomb, "fork stops at the pids limit; host stays responsive"},
    {"thread-bomb", 'E', thread_bomb, "pthread_create stops at the pids limit"},
    {"mem-bomb", 'E', mem_bomb, "memory bomb OOM-killed inside the sandbox"},
    {"fill", 'E', fill, "tmpfs fill stops at its size (ENOSPC) or OOM"},
    {"inode-fill", 'E', inode_fill, "inode fill stops (ENOSPC) or OOM"},
    {"fsize", 'E', fsize, "RLIMIT_FSIZE holds (EFBIG)"},
    {"fd-exhaust", 'E', fd_exhaust, "open stops with EMFILE at RLIMIT_NOFILE"},
    {"cpu-burn", 'E', cpu_burn, "CPU burn (judged against the --cpu quota by the test)"},
    PROBE_TABLE_END,
};
