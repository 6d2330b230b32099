// See fds-env.h.
#include "launcher/fds-env.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sandgate::launcher {

bool reset_inherited_state(const Plan& plan, Failure* failure) {
  // CLOSE_RANGE_CLOEXEC rather than closing: the error pipe must stay open until the exec
  // succeeds (its EOF is the success signal), and the init executable is needed for it
  // (close_range(2)).
  if (close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    return fail(failure, Step::kFdsEnv, "close_range(3.., CLOSE_RANGE_CLOEXEC)");
  }
  if (chdir(plan.cwd.c_str()) != 0) return fail(failure, Step::kFdsEnv, "chdir " + plan.cwd);
  umask(022);  // setup ran with umask 0 (clone-child.cc)
  // Ignored signals stay ignored across execve(2) (signal(7)); the launcher ignores none on
  // purpose, but its caller might have. Handlers cannot survive exec; blocked signals stay
  // blocked on purpose: init takes them over (sandgate-init.c).
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
  }
  return true;
}

}  // namespace sandgate::launcher
