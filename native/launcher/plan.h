// The launch plan (docs/internals/launcher-contract.md, "Launch plan"): decoded once from
// SANDGATE_LAUNCH_PLAN, validated, then only read. Paths are checked to be clean here
// (absolute, no "." or ".." or empty components) so that later steps can trust them.
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "launcher/fail.h"

namespace sandgate::launcher {

constexpr size_t kPlanMaxBytes = 65536;
constexpr const char* kPlanEnvVar = "SANDGATE_LAUNCH_PLAN";
constexpr const char* kInsecureTestEnvVar = "SANDGATE_INSECURE_TEST";

struct SandboxUser {
  uid_t uid = 1000;
  gid_t gid = 1000;
  std::string name = "user";
  std::string home = "/home/user";
};

struct EtcFile {
  std::string name;  // relative to /etc, clean
  mode_t mode;
  std::string content;
};

struct BindMount {
  bool writable;
  bool optional;     // `ro?` / `rw?`: skipped when src is missing
  std::string src;   // host, absolute
  std::string dst;   // inside, absolute, not "/"
};

struct TmpfsMount {
  std::string dst;
  uint64_t bytes;
  mode_t mode;
  bool owned_by_user;  // owner `user`; `root` leaves it owned by no user of the sandbox
};

struct Rlimit {
  int resource;
  const char* name;
  rlim_t soft;
  rlim_t hard;
};

struct Plan {
  std::string hostname;
  uint32_t uid_range_start = 0;
  uint32_t uid_range_count = 0;
  SandboxUser user;
  uint64_t root_tmpfs_bytes = 0;
  std::vector<std::string> system_paths;
  std::vector<EtcFile> etc_files;
  std::vector<BindMount> binds;
  std::vector<TmpfsMount> tmpfs;
  uint32_t devpts_max = 0;
  std::vector<std::string> proc_mask;      // relative to /proc, clean
  std::vector<std::string> proc_readonly;  // relative to /proc, clean
  std::vector<Rlimit> rlimits;
  std::vector<std::string> cgroups;
  std::string seccomp_profile;  // "default", or "none" (tests only, see plan.cc)
  // The profile's program (record `seccomp_bpf`), as seccomp_export_bpf(3) wrote it for the
  // caller; empty for `none`.
  std::vector<sock_filter> seccomp_program;
  uint64_t time_limit_ms = 0;   // 0 = none
  std::string cwd;
  std::vector<std::string> env;
  std::vector<std::string> argv;
  std::optional<std::string> report_path;
  // PTY mode (record `pty_end_marker`): 32 lowercase hex digits, the caller's nonce for the
  // end marker written after the sandbox ended (pty-end.h).
  std::optional<std::string> pty_end_nonce;
};

// Decodes and validates `text`. `insecure_test` is whether SANDGATE_INSECURE_TEST=1 was set
// for the launcher (the only way to accept seccomp profile `none`). On failure returns false
// with a Step::kPlan failure; `plan->report_path` is set if its record was read before the
// error, so that even a malformed plan gets its report.
bool parse_plan(std::string_view text, bool insecure_test, Plan* plan, Failure* failure);

// Takes the plan out of the environment: copies it, wipes the original bytes (they stay in
// /proc/<pid>/environ otherwise) and unsets the variable, as the contract requires.
bool take_plan_from_env(std::string* text, Failure* failure);

}  // namespace sandgate::launcher
