// See supervisor.h.
#include "launcher/supervisor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launcher/cgroup-join.h"

namespace sandgate::launcher {
namespace {

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};
// How long a caller-gone cleanup waits for the cgroups to empty (rmdir EBUSY: FIELD-NOTES).
constexpr int kCgroupRemoveTimeoutMs = 2000;

bool send_signal(const Child& child, int sig) {
  return syscall(SYS_pidfd_send_signal, child.pidfd.get(), sig, nullptr, 0) == 0;
}

// SIGKILL init; the kernel then kills the rest of its pid namespace (pid_namespaces(7)).
void kill_sandbox(const Plan& plan, const Child& child) {
  send_signal(child, SIGKILL);
  thaw_cgroups(plan);
}

int wait_status(Child* child) {
  int status = 0;
  while (waitpid(child->pid, &status, 0) < 0 && errno == EINTR) {
  }
  child->pid = -1;
  return status;
}

Report caller_gone(const Plan& plan, Child* child) {
  kill_sandbox(plan, *child);
  wait_status(child);
  Report report;
  report.reason = Reason::kCallerGone;
  report.status = static_cast<int>(Step::kSupervisor);
  Failure failure;
  if (!remove_cgroups(plan, kCgroupRemoveTimeoutMs, &failure)) report.error = failure;
  return report;
}

Report ended(const Child& child, int status, bool timed_out) {
  Report report;
  int command = 0;
  // Init exits with the command's code, or 128+signal when a signal killed it (its own
  // death by signal is impossible); its status pipe tells which (clone-child.h).
  if (WIFEXITED(status) && read_command_status(child, &command) && WIFSIGNALED(command) &&
      128 + WTERMSIG(command) == WEXITSTATUS(status)) {
    report.reason = Reason::kSignal;
    report.status = WEXITSTATUS(status);
    report.signal = WTERMSIG(command);
  } else if (WIFEXITED(status)) {
    report.reason = Reason::kExit;
    report.status = WEXITSTATUS(status);
    report.exit_code = report.status;
  } else {
    int sig = WTERMSIG(status);
    report.reason = timed_out && sig == SIGKILL ? Reason::kTimeLimit : Reason::kSignal;
    report.status = 128 + sig;
    report.signal = sig;
  }
  return report;
}

}  // namespace

int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

bool block_forwarded_signals(UniqueFd* signals, Failure* failure) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kForwarded) sigaddset(&set, sig);
  if (sigprocmask(SIG_SETMASK, &set, nullptr) != 0) return fail(failure, Step::kSupervisor, "sigprocmask");
  signals->reset(signalfd(-1, &set, SFD_CLOEXEC));
  if (!signals->valid()) return fail(failure, Step::kSupervisor, "signalfd");
  // A write to a pipe whose reader is gone (a child that failed, a caller that closed our
  // stderr) must fail with EPIPE, not kill the supervisor. The child resets it before exec.
  signal(SIGPIPE, SIG_IGN);
  return true;
}

bool watch_caller(UniqueFd* caller, Failure* failure) {
  // A pidfd of the caller polls readable when the caller's whole thread group has exited
  // (pidfd_open(2)). PR_SET_PDEATHSIG cannot be used: it fires when the *thread* that forked
  // us exits, and while a multi-threaded Node dies its threads go one by one, so the signal
  // came while getppid() still named the caller (measured: about 1 run in 6 leaked).
  pid_t parent = getppid();
  caller->reset(static_cast<int>(syscall(SYS_pidfd_open, parent, 0)));
  if (!caller->valid()) return fail(failure, Step::kSupervisor, "pidfd_open(caller)");
  // Opened after the caller may already have gone: then we were reparented.
  if (getppid() != parent) return fail_msg(failure, Step::kSupervisor, "the caller exited at start");
  return true;
}

Report supervise(const Plan& plan, Child* child, int signals, int caller, int64_t start_ns) {
  const int64_t deadline_ns =
      plan.time_limit_ms > 0 ? start_ns + static_cast<int64_t>(plan.time_limit_ms) * 1000000 : -1;
  bool timed_out = false;
  Failure failure;
  for (;;) {
    int timeout_ms = -1;
    if (deadline_ns >= 0 && !timed_out) {
      int64_t left_ns = deadline_ns - monotonic_ns();
      if (left_ns <= 0) {
        kill_sandbox(plan, *child);
        timed_out = true;
        continue;
      }
      timeout_ms = static_cast<int>((left_ns + 999999) / 1000000);
    }
    pollfd fds[4] = {{signals, POLLIN, 0},
                     {child->error_read.valid() ? child->error_read.get() : -1, POLLIN, 0},
                     {child->pidfd.get(), POLLIN, 0},
                     {caller, POLLIN, 0}};
    int ready = poll(fds, 4, timeout_ms);
    if (ready < 0 && errno != EINTR) {
      fail(&failure, Step::kSupervisor, "poll");
      kill_child(child);
      return launcher_error(failure);
    }
    if (ready <= 0) continue;
    // The error pipe first: a child that reported a failure has also exited.
    if (fds[1].revents != 0) {
      bool exec_done = false;
      if (!read_child_outcome(*child, &exec_done, &failure) || !exec_done) {
        kill_child(child);  // it is exiting already: this reaps it
        return launcher_error(failure);
      }
      child->error_read.reset();
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      if (read(signals, &info, sizeof info) == sizeof info) {
        int sig = static_cast<int>(info.ssi_signo);
        // ESRCH once init has exited: its end is read below.
        send_signal(*child, sig);
      }
    }
    if (fds[3].revents != 0) return caller_gone(plan, child);
    if ((fds[2].revents & POLLIN) && !child->error_read.valid()) {
      int status = wait_status(child);
      return ended(*child, status, timed_out);
    }
  }
}

}  // namespace sandgate::launcher
