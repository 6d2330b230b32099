// Capabilities, securebits and no_new_privs (capabilities(7), prctl(2)), with the raw
// capget/capset syscalls: no libcap.
#pragma once

#include "launcher/fail.h"

namespace sandgate::launcher {

// Sets the effective set to the permitted set (used after the uid switch). errno on failure.
bool raise_effective_to_permitted();

// Child side, after every step that needs a capability and before seccomp: empties the
// bounding, ambient, inheritable, permitted and effective sets, locks the securebits so that
// no later uid change or exec can give any back, and sets no_new_privs.
bool drop_all_capabilities(Failure* failure);

}  // namespace sandgate::launcher
