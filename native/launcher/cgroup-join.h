// The plan's cgroups (created and owned by the caller): the supervisor moves the child in
// before the child creates its cgroup namespace, whose root is the cgroup it is in at that
// moment (cgroup_namespaces(7); FIELD-NOTES: join first).
#pragma once

#include <sys/types.h>

#include "launcher/fail.h"
#include "launcher/plan.h"
#include "launcher/unique-fd.h"

namespace sandgate::launcher {

// Host side, before clone: with exactly one cgroup v2 directory, an fd for
// clone3(CLONE_INTO_CGROUP), which places the child atomically and avoids the slow
// cgroup.procs write (FIELD-NOTES: p99 7-19 ms vs < 1 ms). Otherwise left invalid.
bool open_clone_cgroup(const Plan& plan, UniqueFd* dir, Failure* failure);
// Host side, child waiting: writes `pid` to <dir>/cgroup.procs of every plan cgroup.
bool join_cgroups(pid_t pid, const Plan& plan, Failure* failure);
// Child side: a cgroup namespace rooted at the joined cgroup.
bool enter_cgroup_namespace(Failure* failure);

// Host side, killing: thaw frozen cgroups, whose tasks ignore SIGKILL until thawed
// (FIELD-NOTES; freezer-subsystem.rst). Best effort.
void thaw_cgroups(const Plan& plan);
// Host side, caller gone: rmdir every plan cgroup, retrying EBUSY for up to `timeout_ms`
// while the killed tasks leave. Returns false (with the first error) if any remains.
bool remove_cgroups(const Plan& plan, int timeout_ms, Failure* failure);

}  // namespace sandgate::launcher
