// The sandbox's first process: cloned into new user, pid, mount, network, UTS and IPC
// namespaces, synchronised with the supervisor by two pipes, and finally exec'd as
// sandgate-init. Parent-side and child-side halves of each handshake live here.
#pragma once

#include <sys/types.h>

#include <string>

#include "launcher/cgroup-join.h"
#include "launcher/fail.h"
#include "launcher/plan.h"
#include "launcher/proc-dev.h"
#include "launcher/unique-fd.h"

namespace sandgate::launcher {

// What the child needs; it gets its own copy of this memory with the clone (no CLONE_VM).
struct ChildContext {
  const Plan* plan = nullptr;
  const HostTty* tty = nullptr;
  int uid_lease = -1;       // the supervisor's lease socket: the child closes its copy
  int init_executable = -1; // O_PATH | O_CLOEXEC, opened on the host before pivot_root
  int release_read = -1;    // supervisor -> child: one byte per Release
  int release_write = -1;   // (the supervisor's end: the child closes its copy)
  int error_read = -1;      // (the supervisor's end: the child closes its copy)
  int error_write = -1;     // child -> supervisor, O_CLOEXEC: a ChildFailure, or EOF on exec
  const CgroupJoin* cgroup_join = nullptr;  // the files the child joins its cgroups through
  int status_read = -1;     // (the supervisor's end: the child closes its copy)
  int status_write = -1;    // becomes init's fd 3 (kInitStatusFd)
};

// The fd on which sandgate-init reports the command's raw wait status before it exits. A
// pid namespace's init cannot die of a signal sent by itself (pid_namespaces(7)), so its own
// exit status cannot say "the command was killed by SIGTERM"; this pipe can. The command
// never has it: init marks it close-on-exec and makes itself non-dumpable, which also
// keeps /proc/1/fd out of the sandbox user's reach (proc(5), "/proc/pid/fd").
constexpr int kInitStatusFd = 3;

// The supervisor's handle on the child.
struct Child {
  pid_t pid = -1;
  UniqueFd pidfd;          // CLONE_PIDFD: signals and waits without pid-reuse races
  UniqueFd release_write;  // kept open while the supervisor lives: its EOF means "gone"
  UniqueFd error_read;
  UniqueFd status_read;    // init's report of the command's end (kInitStatusFd)
};

// The point where the child waits for the supervisor: the only host-side work the child
// depends on after clone (it joins its cgroups itself, and the filter comes in the plan).
enum class Release : char {
  kIdsMapped = 'm',  // uid_map/gid_map written, tty lent: the child may set up
};

// Host side: the sandgate-init next to /proc/self/exe (contract, "Files").
bool open_init_executable(UniqueFd* fd, Failure* failure);

// Host side: creates the pipes and clones. In the child, calls `entry(*context)`, which
// never returns. `cgroup_dir` >= 0 selects clone3(CLONE_INTO_CGROUP) (cgroup-join.h).
using ChildEntry = void (*)(const ChildContext& context);
bool spawn_child(ChildContext* context, int cgroup_dir, ChildEntry entry, Child* child,
                 Failure* failure);
// Host side: lets the child pass `point`.
bool release_child(const Child& child, Release point, Failure* failure);
// Host side: after a failure between clone and the child's exec: SIGKILL and reap.
void kill_child(Child* child);

// Host side: reads the outcome of the child's setup from the error pipe. Returns true with
// *exec_done when the pipe reached EOF (init was exec'd, or the child died silently);
// true with *failure set (and !*exec_done) when the child reported a failed step.
bool read_child_outcome(const Child& child, bool* exec_done, Failure* failure);
// Host side, init reaped: the command's raw wait status as init reported it, if it did.
bool read_command_status(const Child& child, int* status);

// Child side: waits for `point`; exits at once if the supervisor is gone.
bool await_release(const ChildContext& context, Release point, Failure* failure);
// PR_SET_PDEATHSIG(SIGKILL) again: credential changes clear it (prctl(2)), and the uid
// switch is one. Exits at once if the supervisor already died.
bool rearm_parent_death_signal(const ChildContext& context, Failure* failure);
// execveat(init_executable) with argv ["sandgate-init", "--", argv...] and the plan's env.
bool exec_init(const ChildContext& context, Failure* failure);
// Reports `failure` to the supervisor and exits with its step's code.
[[noreturn]] void exit_with_failure(const ChildContext& context, const Failure& failure);

}  // namespace sandgate::launcher
