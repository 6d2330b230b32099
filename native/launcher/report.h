// The JSON report (docs/internals/launcher-contract.md, "Report"), written once at the end
// to plan `report_path`, atomically (tmp + rename), also after launcher errors.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "launcher/fail.h"

namespace sandgate::launcher {

enum class Reason { kExit, kSignal, kTimeLimit, kLauncherError, kCallerGone };

struct Report {
  Reason reason = Reason::kLauncherError;
  int status = static_cast<int>(Step::kSupervisor);  // the launcher's exit status
  std::optional<int> exit_code;  // reason exit: init's exit code (the command's, 128+sig)
  std::optional<int> signal;     // reason signal / time_limit: the signal that ended init
  std::optional<uid_t> host_uid;
  std::optional<pid_t> init_pid;  // host pid
  double wall_ms = 0;
  std::optional<Failure> error;   // reason launcher_error (and caller_gone cleanup errors)
};

Report launcher_error(const Failure& failure);

// Writes `report` to `path` via `<path>.tmp.<pid>` and rename(2).
bool write_report(const std::string& path, const Report& report, Failure* failure);

}  // namespace sandgate::launcher
