// See caps.h. Order matters: PR_CAPBSET_DROP and PR_SET_SECUREBITS need CAP_SETPCAP, so they
// come before capset() empties the permitted set.
#include "launcher/caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace sandgate::launcher {
namespace {

// The kernel may know more capabilities than the headers we were built with (CAP_LAST_CAP);
// 63 is the largest that fits the 64-bit sets. PR_CAPBSET_DROP returns EINVAL for a
// capability past the kernel's cap_last_cap (prctl(2)), which ends the loop: no need to read
// /proc/sys/kernel/cap_last_cap.
constexpr int kMaxCap = 63;

bool cap_get(__user_cap_data_struct data[2]) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  return syscall(SYS_capget, &header, data) == 0;
}

bool cap_set(const __user_cap_data_struct data[2]) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  return syscall(SYS_capset, &header, data) == 0;
}

}  // namespace

bool raise_effective_to_permitted() {
  __user_cap_data_struct data[2] = {};
  if (!cap_get(data)) return false;
  data[0].effective = data[0].permitted;
  data[1].effective = data[1].permitted;
  return cap_set(data);
}

bool drop_all_capabilities(Failure* failure) {
  for (int cap = 0; cap <= kMaxCap; cap++) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0) continue;
    if (errno == EINVAL) break;  // past the kernel's cap_last_cap
    return fail(failure, Step::kCaps, "prctl(PR_CAPBSET_DROP, " + std::to_string(cap) + ")");
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    return fail(failure, Step::kCaps, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)");
  }
  // With these bits locked, a uid 0 inside (there is none mapped, but defence in depth) or a
  // setuid/file-capability binary can never regain capabilities (capabilities(7), "The
  // securebits flags"). KEEP_CAPS is left off and locked.
  const unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                             SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                             SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
  if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0) {
    return fail(failure, Step::kCaps, "prctl(PR_SET_SECUREBITS)");
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return fail(failure, Step::kCaps, "prctl(PR_SET_NO_NEW_PRIVS)");
  }
  const __user_cap_data_struct none[2] = {};
  if (!cap_set(none)) return fail(failure, Step::kCaps, "capset (all sets empty)");
  return true;
}

}  // namespace sandgate::launcher
