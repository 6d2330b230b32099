// See net-uts.h.
#include "launcher/net-uts.h"

#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "launcher/unique-fd.h"

namespace sandgate::launcher {

bool set_hostname_and_loopback(const Plan& plan, Failure* failure) {
  if (sethostname(plan.hostname.data(), plan.hostname.size()) != 0) {
    return fail(failure, Step::kNet, "sethostname");
  }
  // A fresh network namespace has `lo` down (network_namespaces(7)); SIOCSIFFLAGS on any
  // socket of the namespace brings it up (netdevice(7)). No netlink library needed.
  UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return fail(failure, Step::kNet, "loopback: socket");
  ifreq ifr{};
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) return fail(failure, Step::kNet, "loopback: SIOCGIFFLAGS");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) return fail(failure, Step::kNet, "loopback: SIOCSIFFLAGS");
  return true;
}

}  // namespace sandgate::launcher
