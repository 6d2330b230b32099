// The launcher's one failure channel (docs/internals/launcher-contract.md, "Exit codes"):
// every step that can fail has an exit code and a name, and its message reads
// `sandgate-launcher: <step>: <what>: <strerror(errno)>`.
#pragma once

#include <string>

namespace sandgate::launcher {

enum class Step : int {
  kPlan = 200,
  kClone = 201,
  kUserns = 202,
  kMounts = 203,
  kProcDev = 204,
  kNet = 205,
  kRlimits = 206,
  kCgroup = 207,
  kCaps = 208,
  kFdsEnv = 209,
  kSeccomp = 210,
  kExec = 211,
  kSupervisor = 212,
};

// The step's name as it appears on stderr and in the report's `error.step`.
const char* step_name(Step step);
// Maps an exit code back to its step; false when `code` is not a launcher code (200-212).
bool step_from_code(int code, Step* step);

struct Failure {
  Step step = Step::kSupervisor;
  std::string message;  // "<what>: <strerror(errno)>" or a sentence for plan errors
};

// Record a failure of `step` with strerror(errno) (errno is read first, so call it right
// after the failing syscall). Each returns false, so that steps can `return fail(...)`.
bool fail(Failure* failure, Step step, const std::string& what);
bool fail_with(Failure* failure, Step step, const std::string& what, int error);
// A failure that no errno explains (plan validation, libseccomp messages).
bool fail_msg(Failure* failure, Step step, const std::string& message);

// Prints `sandgate-launcher: <step>: <message>` on stderr.
void print_failure(const Failure& failure);

}  // namespace sandgate::launcher
