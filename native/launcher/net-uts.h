// The UTS and network namespaces: the plan's hostname, and a network namespace with only a
// loopback interface, up (plan `network none`).
#pragma once

#include "launcher/fail.h"
#include "launcher/plan.h"

namespace sandgate::launcher {

// Child side: sethostname, then `lo` up. The new network namespace has no other interface.
bool set_hostname_and_loopback(const Plan& plan, Failure* failure);

}  // namespace sandgate::launcher
