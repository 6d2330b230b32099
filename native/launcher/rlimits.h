// Resource limits (setrlimit(2)) from the plan's `rlimit` records; RLIMIT_CORE is always 0.
#pragma once

#include "launcher/fail.h"
#include "launcher/plan.h"

namespace sandgate::launcher {

// Child side, after the filesystem is built (RLIMIT_FSIZE / NOFILE must not hinder setup).
// Raising a hard limit needs CAP_SYS_RESOURCE in the initial user namespace, which the
// sandbox never has: such a record fails with EPERM and names the limit.
bool apply_rlimits(const Plan& plan, Failure* failure);

}  // namespace sandgate::launcher
