// What the command inherits besides its namespaces: file descriptors, working directory,
// umask and signal dispositions. The environment is the plan's `env` only (see
// clone-child.cc, exec_init), nothing of the launcher's.
#pragma once

#include "launcher/fail.h"
#include "launcher/plan.h"

namespace sandgate::launcher {

// Child side, after the capabilities are gone (so that cwd is checked as the sandbox user):
// every fd above stderr is marked close-on-exec, including whatever node-pty leaked to us
// (it closes nothing: FIELD-NOTES) and the uid lease; the launcher's own pipes and the init
// executable are O_CLOEXEC anyway. The one exception, placed by exec_init afterwards, is
// init's status pipe (kInitStatusFd, clone-child.h), which init keeps from the command.
// Then chdir(cwd), umask 022, default signal dispositions.
bool reset_inherited_state(const Plan& plan, Failure* failure);

}  // namespace sandgate::launcher
