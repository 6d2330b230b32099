// See rlimits.h.
#include "launcher/rlimits.h"

#include <sys/resource.h>

#include <string>

namespace sandgate::launcher {
namespace {

std::string rlim_text(rlim_t value) {
  return value == RLIM_INFINITY ? "unlimited" : std::to_string(value);
}

}  // namespace

bool apply_rlimits(const Plan& plan, Failure* failure) {
  for (const Rlimit& limit : plan.rlimits) {
    rlimit value{limit.soft, limit.hard};
    if (setrlimit(limit.resource, &value) != 0) {
      return fail(failure, Step::kRlimits, std::string("setrlimit ") + limit.name + " " +
                                               rlim_text(limit.soft) + "/" + rlim_text(limit.hard));
    }
  }
  // No core dumps, whatever the plan says: a dump is written by the kernel through the
  // host's core_pattern, possibly a host-side helper (core(5)).
  rlimit none{0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) return fail(failure, Step::kRlimits, "setrlimit core 0/0");
  return true;
}

}  // namespace sandgate::launcher
