/*
 * sg-privs: reports the caller's credentials and capability sets (the `caps` probe) and does
 * nothing else. The tests install copies of it setuid-root and with file capabilities in the
 * probe directory, so those copies must be harmless even when run on the host.
 */
#include "probe.h"

int main(int argc, char **argv) {
  report_begin("caps");
  return caps_probe(argc - 1, argv + 1);
}
