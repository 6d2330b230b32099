// Host uid leases: each concurrently running sandbox gets its own unprivileged host uid
// (SECURITY.md B: "distinct per concurrent sandbox"), even across launcher processes.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "launcher/fail.h"
#include "launcher/unique-fd.h"

namespace sandgate::launcher {

struct UidLease {
  uid_t uid = 0;
  // The bound abstract socket that *is* the lease: the kernel frees the name when its last
  // fd closes, so a crashed launcher leaves no stale lease (unix(7), "Abstract sockets").
  UniqueFd socket;
};

// Leases one uid of [start, start + count), beginning at a random offset. Host side, before
// clone. The child inherits the socket fd and must close it (see clone-child.cc).
bool acquire_uid_lease(uint32_t start, uint32_t count, UidLease* lease, Failure* failure);

}  // namespace sandgate::launcher
