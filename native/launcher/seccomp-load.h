// Compiling and loading the seccomp filter (the policy itself: common/seccomp-policy.cc).
// libseccomp needs about 1.8 ms in a fresh process to build the default profile and generate
// its BPF, more than the rest of the setup together. So a helper process forked at start
// compiles it while the launcher clones and the child builds its root (on the other CPU),
// into a memfd the child inherited; the child loads the finished program with seccomp(2).
// (A thread would not do: the child is cloned with a raw clone3, which runs no fork
// handlers, and could inherit a malloc lock held by the thread.)
#pragma once

#include <cstdint>
#include <sys/types.h>

#include <string>

#include "launcher/fail.h"
#include "launcher/unique-fd.h"

namespace sandgate::launcher {

// How to load the program in the memfd; sent to the child with its last release.
struct SeccompProgram {
  uint32_t length = 0;  // bytes of struct sock_filter at offset 0; 0 = no filter
  uint32_t flags = 0;   // SECCOMP_FILTER_FLAG_*, as libseccomp's seccomp_load would pass
};

// Host side, before clone: the memfd that will carry the program (O_CLOEXEC: gone at exec).
bool create_seccomp_memfd(UniqueFd* memfd, Failure* failure);

// Host side, before clone: forks the helper that compiles `profile` into `memfd`. Profile
// `none` (accepted by plan.cc only with SANDGATE_INSECURE_TEST=1) needs no helper.
class SeccompCompiler {
 public:
  SeccompCompiler() = default;
  SeccompCompiler(const SeccompCompiler&) = delete;
  SeccompCompiler& operator=(const SeccompCompiler&) = delete;
  ~SeccompCompiler();  // kills and reaps a helper that was not waited for

  bool start(const std::string& profile, int memfd, Failure* failure);
  // Host side, before the child's last release: waits for the helper's result.
  bool finish(SeccompProgram* program, Failure* failure);

 private:
  pid_t pid_ = -1;
  UniqueFd result_;
};

// Child side, the last step before exec: every syscall from here on, the exec of init
// included, goes through the filter. Needs no_new_privs (set by drop_all_capabilities).
bool load_seccomp(int memfd, const SeccompProgram& program, Failure* failure);

}  // namespace sandgate::launcher
