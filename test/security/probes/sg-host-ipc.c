/*
 * sg-host-ipc KEY MQNAME: run by the tests ON THE HOST (never in a sandbox). Creates a SysV
 * shared memory segment, message queue and semaphore set with KEY and a POSIX message queue
 * MQNAME, prints "IPC shm=<id> msg=<id> sem=<id>", then waits for EOF on stdin (the test's
 * release, or the test process dying) and removes all four. Bounded by alarm(300).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

static void on_alarm(int sig) {
  (void)sig;
  close(0); /* ends the wait below: clean up and exit */
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: sg-host-ipc KEY MQNAME\n");
    return 2;
  }
  key_t key = (key_t)strtol(argv[1], NULL, 10);
  int shm = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
  int msg = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
  int sem = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
  struct mq_attr attr = {.mq_maxmsg = 1, .mq_msgsize = 16};
  mqd_t mq = mq_open(argv[2], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
  int ok = shm >= 0 && msg >= 0 && sem >= 0 && mq != (mqd_t)-1;
  if (ok) {
    printf("IPC shm=%d msg=%d sem=%d\n", shm, msg, sem);
  } else {
    printf("ERROR shm=%d msg=%d sem=%d mq=%s errno=%s\n", shm, msg, sem, mq == (mqd_t)-1 ? "no" : "yes", strerrorname_np(errno));
  }
  fflush(stdout);
  if (ok) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL); /* no SA_RESTART: the read returns EINTR */
    alarm(300);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
  }
  if (shm >= 0) shmctl(shm, IPC_RMID, NULL);
  if (msg >= 0) msgctl(msg, IPC_RMID, NULL);
  if (sem >= 0) semctl(sem, 0, IPC_RMID);
  if (mq != (mqd_t)-1) {
    mq_close(mq);
    mq_unlink(argv[2]);
  }
  return ok ? 0 : 1;
}
