/*
 * sg-host-aio: run by the tests ON THE HOST. Tries io_setup(2) for one event, as any host
 * process would, prints "AIO OK" or "AIO <errno name>", releases the context and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  unsigned long ctx = 0;
  if (syscall(SYS_io_setup, 1, &ctx) != 0) {
    printf("AIO %s\n", strerrorname_np(errno));
    return 0;
  }
  syscall(SYS_io_destroy, ctx);
  printf("AIO OK\n");
  return 0;
}
