// sandgate-launcher: runs one command in a fresh sandbox and supervises it.
// Contract: docs/internals/launcher-contract.md. One file per concern (nsjail's layout);
// this file only says in which order the steps run, and why that order.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <string>

#include "launcher/caps.h"
#include "launcher/cgroup-join.h"
#include "launcher/clone-child.h"
#include "launcher/fail.h"
#include "launcher/fds-env.h"
#include "launcher/mounts.h"
#include "launcher/net-uts.h"
#include "launcher/plan.h"
#include "launcher/proc-dev.h"
#include "launcher/pty-end.h"
#include "launcher/report.h"
#include "launcher/rlimits.h"
#include "launcher/seccomp-load.h"
#include "launcher/supervisor.h"
#include "launcher/uid-lease.h"
#include "launcher/userns.h"

namespace sandgate::launcher {
namespace {

// The child: PID 1 of the new namespaces until it becomes sandgate-init.
[[noreturn]] void sandbox_main(const ChildContext& cx) {
  const Plan& plan = *cx.plan;
  Failure f;
  MountSources sources;
  UniqueFd root, dev;
  bool ok =
      // First, while the supervisor writes the id maps: what the setup allocates is charged
      // to the sandbox (cgroup-join.h).
      join_cgroups(plan, *cx.cgroup_join, &f) &&
      await_release(cx, Release::kIdsMapped, &f) &&
      // Still the host's fsuid: clone bind sources and create tmpfs volumes (mounts.h).
      open_mount_sources(plan, &sources, &f) &&
      become_sandbox_user(plan.user, &f) &&
      rearm_parent_death_signal(cx, &f) &&
      build_root(plan, &sources, &root, &f) &&
      // /proc and /dev before pivot_root: "mount too revealing" (proc-dev.h).
      mount_proc(plan, root.get(), &f) &&
      mount_dev(plan, *cx.tty, root.get(), &dev, &f) &&
      mount_volumes(plan, &sources, root.get(), &f) &&
      seal_dev(dev.get(), &f) &&
      pivot_into(root.get(), &f) &&
      reopen_console(*cx.tty, &f) &&
      set_hostname_and_loopback(plan, &f) &&
      apply_rlimits(plan, &f) &&
      // In the cgroups since the first step: the namespace's root is the sandbox's cgroup.
      enter_cgroup_namespace(&f) &&
      // Everything that needs a capability is done.
      drop_all_capabilities(&f) &&
      reset_inherited_state(plan, &f) &&
      // Seccomp last: it may refuse what the steps above needed (mount, unshare, capset...).
      load_seccomp(plan, &f) &&
      exec_init(cx, &f);
  (void)ok;  // exec_init only returns on failure
  exit_with_failure(cx, f);
}

// The supervisor: host-side preparation, clone, the host-side half of the child's first
// step, then supervision. `signals` and `caller` outlive it: the PTY end needs them (pty-end.h).
Report contain(const Plan& plan, int64_t start_ns, UniqueFd* signals, UniqueFd* caller) {
  Failure f;
  HostTty tty;
  UniqueFd init_executable;
  UidLease lease;
  CgroupJoin cgroup_join;
  bool ready =
      // Before the signals are blocked: its SIGHUP must be discarded, not queued.
      detach_caller_tty(&tty, &f) &&
      block_forwarded_signals(signals, &f) &&
      watch_caller(caller, &f) &&
      drop_supplementary_groups(&f) &&
      acquire_uid_lease(plan.uid_range_start, plan.uid_range_count, &lease, &f) &&
      open_init_executable(&init_executable, &f) &&
      open_cgroup_join(plan, &cgroup_join, &f);
  if (!ready) return launcher_error(f);

  ChildContext cx;
  cx.plan = &plan;
  cx.tty = &tty;
  cx.uid_lease = lease.socket.get();
  cx.init_executable = init_executable.get();
  cx.cgroup_join = &cgroup_join;
  Child child;
  if (!spawn_child(&cx, cgroup_join.clone_dir.get(), sandbox_main, &child, &f)) return launcher_error(f);
  const pid_t init_pid = child.pid;
  cgroup_join = CgroupJoin();  // the child has its own copies
  bool released =
      write_id_maps(child.pid, plan.user, lease.uid, &f) &&
      lend_caller_tty(tty, lease.uid, &f) &&
      release_child(child, Release::kIdsMapped, &f);
  Report report;
  if (released) {
    report = supervise(plan, &child, signals->get(), caller->get(), start_ns);
  } else {
    kill_child(&child);
    report = launcher_error(f);
  }
  report.host_uid = lease.uid;
  report.init_pid = init_pid;
  return_caller_tty(tty);
  return report;
}

}  // namespace
}  // namespace sandgate::launcher

int main() {
  using namespace sandgate::launcher;
  const int64_t start_ns = monotonic_ns();
  const char* insecure = getenv(kInsecureTestEnvVar);
  Plan plan;
  Failure failure;
  std::string text;
  UniqueFd signals, caller;
  Report report = take_plan_from_env(&text, &failure) &&
                          parse_plan(text, insecure != nullptr && strcmp(insecure, "1") == 0, &plan, &failure)
                      ? contain(plan, start_ns, &signals, &caller)
                      : launcher_error(failure);
  report.wall_ms = static_cast<double>(monotonic_ns() - start_ns) / 1e6;
  if (report.error) print_failure(*report.error);
  if (plan.report_path) {
    if (report.reason == Reason::kCallerGone) {
      // Nobody is left to read it: leave nothing behind (contract, "Process structure").
      unlink(plan.report_path->c_str());
    } else if (!write_report(*plan.report_path, report, &failure)) {
      print_failure(failure);
      return static_cast<int>(Step::kSupervisor);
    }
  }
  // After the report: in PTY mode, the end marker, then the caller's release (pty-end.h).
  if (report.reason != Reason::kCallerGone) announce_pty_end(plan, signals.get(), caller.get());
  return report.status;
}
