// Loading the seccomp filter. The caller compiles the profile once per process, with the
// addon's seccompFilter(profile, 'bpf') (common/seccomp-policy.cc, through libseccomp), and
// hands the program over in the plan (record `seccomp_bpf`, plan.h). Compiling it here cost
// about 1.8 ms of CPU in every launch, in a helper process that competed with the child's
// setup for the CPUs (measured: the child then waited 1.3 ms p50 for it on a busy 2-vCPU
// machine), and kept libseccomp in this static binary.
#pragma once

#include "launcher/fail.h"
#include "launcher/plan.h"

namespace sandgate::launcher {

// Child side, the last step before exec: every syscall from here on, the exec of init
// included, goes through the filter. Needs no_new_privs (set by drop_all_capabilities).
// Profile `none` (accepted by plan.cc only with SANDGATE_INSECURE_TEST=1) loads nothing.
bool load_seccomp(const Plan& plan, Failure* failure);

}  // namespace sandgate::launcher
