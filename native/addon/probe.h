// probe(): what this host offers the launcher (docs/internals/launcher-contract.md, "Addon").
// Plain C++ results; addon.cc turns them into JavaScript values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sandgate::probe {

struct NamespaceResult {
  const char* name;   // user, pid, mount, net, uts, ipc, cgroup
  bool ok;
  std::string error;  // empty when ok
};

struct SeccompResult {
  bool ok;                           // the default filter loads and refuses what it must
  std::vector<std::string> actions;  // SECCOMP_GET_ACTION_AVAIL, e.g. kill_process, errno
  std::string libseccomp;            // seccomp_version(), e.g. 2.5.4
  std::string error;                 // empty when ok
};

struct CgroupHierarchy {
  std::vector<std::string> controllers;
  std::string mount_point;
  std::string own_path;  // this process's cgroup, relative to mount_point
};

struct CgroupResult {
  int version;  // 2 when the cgroup2 mount holds memory, pids and cpu; else 1
  std::vector<std::string> controllers;
  std::vector<CgroupHierarchy> hierarchies;
};

struct UidRangeResult {
  std::uint32_t start;
  std::uint32_t count;
  std::vector<std::uint32_t> conflicts;  // the lowest 16 uids in the range that are taken
};

struct HostReport {
  std::string kernel;
  std::vector<NamespaceResult> namespaces;
  SeccompResult seccomp;
  CgroupResult cgroup;
  UidRangeResult uid_range;
  bool root;  // euid 0 with CAP_SYS_ADMIN in the effective set
};

// Most uids reported in UidRangeResult::conflicts.
constexpr std::size_t kMaxUidConflicts = 16;

// `uid_start + uid_count - 1` must be a valid uid (<= 4294967294); the caller validates.
HostReport probe_host(std::uint32_t uid_start, std::uint32_t uid_count);

}  // namespace sandgate::probe
