/*
 * sg-probe <name> [args...]: one static binary holding every attack probe, so a test binds a
 * single file into the sandbox. `sg-probe list` prints "<class> <name> <what>" per probe.
 * The probes themselves live in one file per SECURITY.md class (probe-*.c).
 */
#include "probe.h"

#include <stdio.h>
#include <string.h>

static const struct probe *const tables[] = {
    fs_probes, mount_probes, proc_probes, kernel_probes, kernel_api_probes, abi_probes, tty_probes, net_ipc_probes, resource_probes, lifetime_probes,
};

static const struct probe *find_probe(const char *name) {
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
    for (const struct probe *p = tables[t]; p->name != NULL; p++) {
      if (strcmp(p->name, name) == 0) return p;
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  /* Line-buffered even on a pipe: a probe that blocks must have shown its progress line. */
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) {
    fprintf(stderr, "usage: sg-probe <name> [args...] | sg-probe list\n");
    return PROBE_ERROR;
  }
  if (strcmp(argv[1], "list") == 0) {
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
      for (const struct probe *p = tables[t]; p->name != NULL; p++) {
        printf("%c %s %s\n", p->security_class, p->name, p->what);
      }
    }
    return 0;
  }
  const struct probe *probe = find_probe(argv[1]);
  if (probe == NULL) {
    printf("ERROR %s unknown_probe=1\n", argv[1]);
    return PROBE_ERROR;
  }
  report_begin(probe->name);
  return probe->run(argc - 2, argv + 2);
}
