// A lease is an abstract unix socket bound to "sandgate/uid/<uid>": bind(2) fails with
// EADDRINUSE while another launcher holds that uid, and the name disappears with the last fd
// (unix(7)), so neither a lock file nor a cleanup pass is needed after a crash. Abstract
// names are per network namespace: every launcher binds in the host's, before clone.
#include "launcher/uid-lease.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <string>

namespace sandgate::launcher {

bool acquire_uid_lease(uint32_t start, uint32_t count, UidLease* lease, Failure* failure) {
  // A random start spreads concurrent launchers over the range instead of having them all
  // race for its first free uid.
  uint32_t offset = 0;
  if (getrandom(&offset, sizeof offset, GRND_NONBLOCK) != sizeof offset) offset = getpid();
  offset %= count;

  UniqueFd sock(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return fail(failure, Step::kUserns, "uid lease: socket");
  for (uint32_t i = 0; i < count; i++) {
    uid_t uid = start + (offset + i) % count;
    std::string name = "sandgate/uid/" + std::to_string(uid);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] == 0: abstract
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    if (bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0) {
      lease->uid = uid;
      lease->socket = std::move(sock);
      return true;
    }
    if (errno != EADDRINUSE) return fail(failure, Step::kUserns, "uid lease: bind " + name);
  }
  return fail_with(failure, Step::kUserns,
                   "uid lease: all " + std::to_string(count) + " uids from " +
                       std::to_string(start) + " are in use",
                   EADDRINUSE);
}

}  // namespace sandgate::launcher
