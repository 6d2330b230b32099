// The plan's cgroups (created and owned by the caller). The sandbox is in them before it
// creates its cgroup namespace, whose root is the cgroup it is in at that moment
// (cgroup_namespaces(7); FIELD-NOTES: join first), and before its setup allocates anything,
// so that the setup's memory is charged to the sandbox too.
//
// How it joins decides a large part of the spawn time on a busy host (FIELD-NOTES: a
// cgroup.procs write after clone had a p99 of 7-19 ms):
// - cgroup v2, one directory: clone3(CLONE_INTO_CGROUP) places the child atomically.
// - cgroup v1: the child writes "0" (itself) to `tasks` of each hierarchy, through files the
//   supervisor opened before clone. Moving a pid, or a whole thread group through
//   cgroup.procs, write-locks cgroup_threadgroup_rwsem, which waits for an RCU grace period
//   while holding cgroup_mutex; moving only the calling thread skips that lock
//   (kernel/cgroup/cgroup.c, cgroup_procs_write_start). The child is single-threaded, so its
//   thread is the whole process. Measured on this machine kind, 5 hierarchies, 20 ms between
//   joins: the supervisor writing the child's pid p50 0.25 ms / p90 12-15 ms; the child
//   writing "0" to tasks p50 0.07 ms / p90 0.1-1.6 ms. The kernel checks the credentials the
//   file was opened with (root's), not the child's (cgroup-v1.c, __cgroup1_procs_write).
#pragma once

#include <vector>

#include "launcher/fail.h"
#include "launcher/plan.h"
#include "launcher/unique-fd.h"

namespace sandgate::launcher {

// Opened on the host before clone; what the child needs to join.
struct CgroupJoin {
  UniqueFd clone_dir;           // v2: the one directory, for clone3(CLONE_INTO_CGROUP)
  std::vector<UniqueFd> tasks;  // v1: <dir>/tasks of each plan cgroup, O_WRONLY | O_CLOEXEC
};

// Host side, before clone: opens what `join` needs for the plan's cgroups (none: nothing).
bool open_cgroup_join(const Plan& plan, CgroupJoin* join, Failure* failure);
// Child side, first step: moves itself into the v1 cgroups, then closes the `tasks` files,
// which would let their holder move any task (they were opened by host root).
bool join_cgroups(const Plan& plan, const CgroupJoin& join, Failure* failure);
// Child side: a cgroup namespace rooted at the joined cgroup.
bool enter_cgroup_namespace(Failure* failure);

// Host side, killing: thaw frozen cgroups, whose tasks ignore SIGKILL until thawed
// (FIELD-NOTES; freezer-subsystem.rst). Best effort.
void thaw_cgroups(const Plan& plan);
// Host side, caller gone: rmdir every plan cgroup, retrying EBUSY for up to `timeout_ms`
// while the killed tasks leave. Returns false (with the first error) if any remains.
bool remove_cgroups(const Plan& plan, int timeout_ms, Failure* failure);

}  // namespace sandgate::launcher
