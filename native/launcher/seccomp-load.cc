// See seccomp-load.h.
#include "launcher/seccomp-load.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace sandgate::launcher {

bool load_seccomp(const Plan& plan, Failure* failure) {
  if (plan.seccomp_program.empty()) return true;
  // plan.cc checked the size (1 to BPF_MAXINSNS instructions); the kernel checks the rest
  // (seccomp(2), EINVAL). Flags 0, as seccomp_load(3) passes them for this policy: it sets
  // none of the attributes libseccomp turns into flags (TSYNC, LOG, SSB).
  sock_fprog prog{static_cast<unsigned short>(plan.seccomp_program.size()),
                  const_cast<sock_filter*>(plan.seccomp_program.data())};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    return fail(failure, Step::kSeccomp, "seccomp(SECCOMP_SET_MODE_FILTER)");
  }
  return true;
}

}  // namespace sandgate::launcher
