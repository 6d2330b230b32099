// See seccomp-load.h. The program loaded is the one seccomp_export_bpf(3) writes, i.e. the
// very bytes the addon's seccompFilter(profile, 'bpf') returns for inspection.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "common/seccomp-policy.h"
#include "launcher/seccomp-load.h"

namespace sandgate::launcher {
namespace {

// The seccomp(2) flags that libseccomp's seccomp_load derives from the filter attributes
// (seccomp_attr_set(3)): the same program must load the same way.
bool load_flags(scmp_filter_ctx filter, uint32_t* flags) {
  struct {
    scmp_filter_attr attr;
    uint32_t flag;
  } const mapping[] = {
      {SCMP_FLTATR_CTL_TSYNC, SECCOMP_FILTER_FLAG_TSYNC},
      {SCMP_FLTATR_CTL_LOG, SECCOMP_FILTER_FLAG_LOG},
      {SCMP_FLTATR_CTL_SSB, SECCOMP_FILTER_FLAG_SPEC_ALLOW},
  };
  *flags = 0;
  for (const auto& m : mapping) {
    uint32_t value = 0;
    if (seccomp_attr_get(filter, m.attr, &value) != 0) return false;
    if (value != 0) *flags |= m.flag;
  }
  return true;
}

// What the helper sends back on its pipe; below PIPE_BUF, so one write(2) is atomic.
struct CompileResult {
  uint32_t ok;
  SeccompProgram program;
  uint32_t length;
  char message[1024];
};

bool compile(const std::string& profile, int memfd, SeccompProgram* program, Failure* failure) {
  std::string error;
  scmp_filter_ctx filter = build_seccomp_filter(profile, &error);
  if (filter == nullptr) return fail_msg(failure, Step::kSeccomp, "build profile `" + profile + "`: " + error);
  int rc = seccomp_export_bpf(filter, memfd);  // -errno on failure (seccomp_export_bpf(3))
  bool flags_ok = load_flags(filter, &program->flags);
  seccomp_release(filter);
  if (rc != 0) return fail_with(failure, Step::kSeccomp, "export profile `" + profile + "`", -rc);
  if (!flags_ok) return fail_msg(failure, Step::kSeccomp, "read the attributes of profile `" + profile + "`");
  off_t size = lseek(memfd, 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0 || size / sizeof(sock_filter) > BPF_MAXINSNS) {
    return fail_with(failure, Step::kSeccomp, "profile `" + profile + "` compiled to " + std::to_string(size) + " bytes", EINVAL);
  }
  program->length = static_cast<uint32_t>(size);
  return true;
}

}  // namespace

bool create_seccomp_memfd(UniqueFd* memfd, Failure* failure) {
  memfd->reset(memfd_create("sandgate-seccomp", MFD_CLOEXEC));
  if (!memfd->valid()) return fail(failure, Step::kSeccomp, "memfd_create");
  return true;
}

SeccompCompiler::~SeccompCompiler() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

bool SeccompCompiler::start(const std::string& profile, int memfd, Failure* failure) {
  if (profile == "none") return true;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return fail(failure, Step::kSeccomp, "pipe2 (compiler)");
  result_.reset(fds[0]);
  UniqueFd write_end(fds[1]);
  pid_ = fork();  // fork(3), not a raw clone: glibc's fork handlers keep malloc usable
  if (pid_ < 0) return fail(failure, Step::kSeccomp, "fork (compiler)");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    CompileResult result{};
    Failure error;
    result.ok = compile(profile, memfd, &result.program, &error) ? 1 : 0;
    result.length = static_cast<uint32_t>(std::min(error.message.size(), sizeof result.message));
    memcpy(result.message, error.message.data(), result.length);
    _exit(write(write_end.get(), &result, sizeof result) == sizeof result ? 0 : 1);
  }
  return true;
}

bool SeccompCompiler::finish(SeccompProgram* program, Failure* failure) {
  *program = SeccompProgram{};
  if (pid_ <= 0) return true;
  CompileResult result{};
  ssize_t n;
  do {
    n = read(result_.get(), &result, sizeof result);
  } while (n < 0 && errno == EINTR);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  if (n != sizeof result) return fail_msg(failure, Step::kSeccomp, "the compiler process ended without a result");
  if (result.ok == 0) {
    return fail_msg(failure, Step::kSeccomp,
                    std::string(result.message, std::min<size_t>(result.length, sizeof result.message)));
  }
  *program = result.program;
  return true;
}

bool load_seccomp(int memfd, const SeccompProgram& program, Failure* failure) {
  if (program.length == 0) return true;
  std::vector<sock_filter> code(program.length / sizeof(sock_filter));
  if (pread(memfd, code.data(), program.length, 0) != static_cast<ssize_t>(program.length)) {
    return fail(failure, Step::kSeccomp, "read the compiled filter");
  }
  sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &prog) != 0) {
    return fail(failure, Step::kSeccomp, "seccomp(SECCOMP_SET_MODE_FILTER)");
  }
  return true;
}

}  // namespace sandgate::launcher
