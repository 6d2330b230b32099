// See fail.h.
#include "launcher/fail.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

namespace sandgate::launcher {

const char* step_name(Step step) {
  switch (step) {
    case Step::kPlan: return "plan";
    case Step::kClone: return "clone";
    case Step::kUserns: return "userns";
    case Step::kMounts: return "mounts";
    case Step::kProcDev: return "proc_dev";
    case Step::kNet: return "net";
    case Step::kRlimits: return "rlimits";
    case Step::kCgroup: return "cgroup";
    case Step::kCaps: return "caps";
    case Step::kFdsEnv: return "fds_env";
    case Step::kSeccomp: return "seccomp";
    case Step::kExec: return "exec";
    case Step::kSupervisor: return "supervisor";
  }
  return "supervisor";
}

bool step_from_code(int code, Step* step) {
  if (code < static_cast<int>(Step::kPlan) || code > static_cast<int>(Step::kSupervisor)) {
    return false;
  }
  *step = static_cast<Step>(code);
  return true;
}

bool fail_with(Failure* failure, Step step, const std::string& what, int error) {
  failure->step = step;
  failure->message = what + ": " + strerror(error);
  return false;
}

bool fail(Failure* failure, Step step, const std::string& what) {
  return fail_with(failure, step, what, errno);
}

bool fail_msg(Failure* failure, Step step, const std::string& message) {
  failure->step = step;
  failure->message = message;
  return false;
}

void print_failure(const Failure& failure) {
  // One write(2), so that lines from concurrent launchers sharing a stderr do not interleave.
  std::string line = std::string("sandgate-launcher: ") + step_name(failure.step) + ": " +
                     failure.message + "\n";
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace sandgate::launcher
