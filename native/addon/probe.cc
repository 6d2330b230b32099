// probe(): kernel, namespaces, seccomp, cgroups, the uid range and privileges of this host, as
// the launcher will meet them. Anything that changes process state (unshare, loading a filter)
// happens in a forked child that reports through a pipe and exits: the gateway stays as it was.
// A child forked from a multi-threaded process may only make async-signal-safe calls
// (fork(2), signal-safety(7)), so it makes raw syscalls on data prepared before the fork.
#include "addon/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "addon/seccomp-export.h"
#include "common/seccomp-policy.h"

namespace sandgate::probe {
namespace {

constexpr int kCapSysAdmin = 21;  // linux/capability.h

bool read_text(const std::string& path, std::string* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  *out = text.str();
  return true;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  return parts;
}

std::string errno_text(int error) {
  return std::strerror(error);  // "Success" for 0: a call that should have failed did not
}

// Runs `body` in a forked child, which writes `count` ints to the pipe; fills `results`.
// Returns "" or a sentence saying why the child could not report.
template <typename Body>
std::string run_in_child(int* results, std::size_t count, Body body) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return std::string("pipe2: ") + std::strerror(errno);
  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    close(fds[0]);
    close(fds[1]);
    return std::string("fork: ") + std::strerror(error);
  }
  if (pid == 0) {
    close(fds[0]);
    body(results);
    const ssize_t written = write(fds[1], results, count * sizeof(int));
    _exit(written == static_cast<ssize_t>(count * sizeof(int)) ? 0 : 1);
  }
  close(fds[1]);
  std::size_t got = 0;
  char* bytes = reinterpret_cast<char*>(results);
  while (got < count * sizeof(int)) {
    const ssize_t n = read(fds[0], bytes + got, count * sizeof(int) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) return "the probe child was killed by signal " + std::to_string(WTERMSIG(status));
  if (got != count * sizeof(int)) return "the probe child exited without reporting";
  return "";
}

// --- namespaces -----------------------------------------------------------------------------

struct NamespaceKind {
  const char* name;
  int flag;
};
constexpr NamespaceKind kNamespaces[] = {
    {"user", CLONE_NEWUSER}, {"pid", CLONE_NEWPID}, {"mount", CLONE_NEWNS},
    {"net", CLONE_NEWNET},   {"uts", CLONE_NEWUTS}, {"ipc", CLONE_NEWIPC},
    {"cgroup", CLONE_NEWCGROUP},
};
constexpr std::size_t kNamespaceCount = sizeof kNamespaces / sizeof kNamespaces[0];

// The user namespace first, then each other kind inside it, as the launcher's clone does
// (user_namespaces(7): a new user namespace gives the capabilities to create the others).
std::vector<NamespaceResult> probe_namespaces() {
  int errors[kNamespaceCount] = {};
  const std::string failure = run_in_child(errors, kNamespaceCount, [](int* out) {
    out[0] = unshare(CLONE_NEWUSER) == 0 ? 0 : errno;
    for (std::size_t i = 1; i < kNamespaceCount; ++i) {
      out[i] = out[0] != 0 ? -1 : (unshare(kNamespaces[i].flag) == 0 ? 0 : errno);
    }
  });
  std::vector<NamespaceResult> results;
  for (std::size_t i = 0; i < kNamespaceCount; ++i) {
    NamespaceResult r{kNamespaces[i].name, false, ""};
    const std::string call = std::string("unshare(") + kNamespaces[i].name + ")";
    if (!failure.empty()) {
      r.error = failure;
    } else if (errors[i] == -1) {
      r.error = "needs a user namespace: unshare(user): " + errno_text(errors[0]);
    } else if (errors[i] != 0) {
      r.error = call + (i == 0 ? "" : " in a new user namespace") + ": " + errno_text(errors[i]);
    } else {
      r.ok = true;
    }
    results.push_back(r);
  }
  return results;
}

// --- seccomp --------------------------------------------------------------------------------

struct SeccompAction {
  const char* name;
  std::uint32_t value;
};
constexpr SeccompAction kSeccompActions[] = {
    {"kill_process", SECCOMP_RET_KILL_PROCESS}, {"kill_thread", SECCOMP_RET_KILL_THREAD},
    {"trap", SECCOMP_RET_TRAP},                 {"errno", SECCOMP_RET_ERRNO},
    {"user_notif", SECCOMP_RET_USER_NOTIF},     {"trace", SECCOMP_RET_TRACE},
    {"log", SECCOMP_RET_LOG},                   {"allow", SECCOMP_RET_ALLOW},
};

// ok means: the kernel has filter mode, and the default profile loads here and refuses
// unshare (EPERM) and clone3 (ENOSYS) in a child.
SeccompResult probe_seccomp() {
  SeccompResult result{false, {}, "", ""};
  const scmp_version* version = seccomp_version();
  result.libseccomp = std::to_string(version->major) + "." + std::to_string(version->minor) + "." +
                      std::to_string(version->micro);
  for (const SeccompAction& action : kSeccompActions) {
    std::uint32_t value = action.value;
    if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &value) == 0) result.actions.push_back(action.name);
  }
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {
    result.error = std::string("prctl(PR_GET_SECCOMP): ") + std::strerror(errno) + " (kernel without CONFIG_SECCOMP)";
    return result;
  }
  std::string bpf;
  std::string error;
  if (!export_seccomp_filter("default", FilterFormat::kBpf, &bpf, &error)) {
    result.error = "the default profile: " + error;
    return result;
  }
  sock_fprog program{};
  program.len = static_cast<unsigned short>(bpf.size() / sizeof(sock_filter));
  program.filter = reinterpret_cast<sock_filter*>(bpf.data());

  enum { kLoad, kUnshare, kClone3, kCount };
  int errors[kCount] = {};
  const std::string failure = run_in_child(errors, kCount, [&program](int* out) {
    out[kLoad] = prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
                         syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0
                     ? 0
                     : errno;
    if (out[kLoad] != 0) return;
    out[kUnshare] = syscall(SYS_unshare, CLONE_NEWUSER) == 0 ? 0 : errno;
    out[kClone3] = syscall(SYS_clone3, nullptr, 0) == 0 ? 0 : errno;
  });
  if (!failure.empty()) {
    result.error = failure;
  } else if (errors[kLoad] != 0) {
    result.error = "loading the default filter: " + errno_text(errors[kLoad]);
  } else if (errors[kUnshare] != EPERM) {
    result.error = "under the default filter, unshare(CLONE_NEWUSER) gave '" + errno_text(errors[kUnshare]) +
                   "' instead of EPERM";
  } else if (errors[kClone3] != ENOSYS) {
    result.error = "under the default filter, clone3 gave '" + errno_text(errors[kClone3]) + "' instead of ENOSYS";
  } else {
    result.ok = true;
  }
  return result;
}

// --- cgroups --------------------------------------------------------------------------------

struct CgroupMount {
  std::string root;         // the mount's root inside its hierarchy (mountinfo field 4)
  std::string mount_point;  // mountinfo field 5, unescaped
  std::string fs_type;      // cgroup or cgroup2
  std::set<std::string> options;
};

// mountinfo escapes space, tab, newline and backslash as \ooo (proc(5)).
std::string unescape_octal(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      const std::string digits = text.substr(i + 1, 3);
      if (digits.find_first_not_of("01234567") == std::string::npos) {
        out.push_back(static_cast<char>(std::stoi(digits, nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

std::vector<CgroupMount> cgroup_mounts(const std::string& mountinfo) {
  std::vector<CgroupMount> mounts;
  for (const std::string& line : split(mountinfo, '\n')) {
    const std::vector<std::string> fields = split(line, ' ');
    const auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || dash == fields.end() || fields.end() - dash < 4) continue;
    const std::string& fs_type = *(dash + 1);
    if (fs_type != "cgroup" && fs_type != "cgroup2") continue;
    const std::vector<std::string> options = split(*(dash + 3), ',');
    mounts.push_back({unescape_octal(fields[3]), unescape_octal(fields[4]), fs_type,
                      std::set<std::string>(options.begin(), options.end())});
  }
  return mounts;
}

// `path` (from /proc/self/cgroup) relative to the mount's root, or "" when outside it.
std::string relative_to_root(const std::string& path, const std::string& root) {
  if (root == "/") return path;
  if (path == root) return "/";
  if (path.compare(0, root.size() + 1, root + "/") == 0) return path.substr(root.size());
  return "";
}

std::vector<std::string> words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

// What sandgate limits; a cgroup2 mount without them (a v1/v2 hybrid) is not used.
constexpr const char* kUsefulV2[] = {"memory", "pids", "cpu"};

// `self` is /proc/self/cgroup (cgroups(7)), `mountinfo` /proc/self/mountinfo (proc(5)). Each
// controller line is matched to the mount whose super options name its controllers, whether
// they are mounted alone (cpu, cpuacct here) or together (cpu,cpuacct elsewhere).
CgroupResult parse_cgroups(const std::string& self, const std::string& mountinfo) {
  CgroupResult result{1, {}, {}};
  const std::vector<CgroupMount> mounts = cgroup_mounts(mountinfo);

  std::vector<CgroupHierarchy> v1;
  for (const std::string& line : split(self, '\n')) {
    const std::size_t first = line.find(':');
    const std::size_t second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string list = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    const bool unified = line.compare(0, first, "0") == 0 && list.empty();
    if (!unified && (list.empty() || list.find("name=") != std::string::npos)) continue;  // named: no controller
    std::vector<std::string> controllers = unified ? std::vector<std::string>() : split(list, ',');
    for (const CgroupMount& mount : mounts) {
      if (mount.fs_type != (unified ? "cgroup2" : "cgroup")) continue;
      const bool all = std::all_of(controllers.begin(), controllers.end(),
                                   [&mount](const std::string& c) { return mount.options.count(c) != 0; });
      const std::string own = relative_to_root(path, mount.root);
      if (!all || own.empty()) continue;
      if (!unified) {
        std::sort(controllers.begin(), controllers.end());
        v1.push_back({controllers, mount.mount_point, own});
        break;
      }
      // cgroup2: v2 when its root offers memory, pids and cpu; usable = our own cgroup's.
      std::string offered;
      if (!read_text(mount.mount_point + "/cgroup.controllers", &offered)) break;
      const std::vector<std::string> root_controllers = words(offered);
      const auto offers = [&root_controllers](const char* c) {
        return std::find(root_controllers.begin(), root_controllers.end(), c) != root_controllers.end();
      };
      if (!std::all_of(std::begin(kUsefulV2), std::end(kUsefulV2), offers)) break;
      std::string own_offered = offered;
      read_text(mount.mount_point + (own == "/" ? "" : own) + "/cgroup.controllers", &own_offered);
      std::vector<std::string> usable = words(own_offered);
      std::sort(usable.begin(), usable.end());
      result.version = 2;
      result.controllers = usable;
      result.hierarchies = {{usable, mount.mount_point, own}};
      return result;
    }
  }
  std::sort(v1.begin(), v1.end(),
            [](const CgroupHierarchy& a, const CgroupHierarchy& b) { return a.controllers < b.controllers; });
  for (const CgroupHierarchy& h : v1) {
    result.controllers.insert(result.controllers.end(), h.controllers.begin(), h.controllers.end());
  }
  std::sort(result.controllers.begin(), result.controllers.end());
  result.hierarchies = v1;
  return result;
}

CgroupResult probe_cgroups() {
  std::string self, mountinfo;
  if (!read_text("/proc/self/cgroup", &self) || !read_text("/proc/self/mountinfo", &mountinfo)) return {1, {}, {}};
  return parse_cgroups(self, mountinfo);
}

// --- uid range ------------------------------------------------------------------------------

// The lowest kMaxUidConflicts uids of [start, start + count) that /etc/passwd names or that a
// range in /etc/subuid (subuid(5)) hands out: leasing them would share a host identity.
UidRangeResult probe_uid_range(std::uint32_t start, std::uint32_t count) {
  UidRangeResult result{start, count, {}};
  const std::uint64_t begin = start;
  const std::uint64_t end = begin + count;  // exclusive
  std::set<std::uint64_t> taken;
  const auto take = [&](std::uint64_t first, std::uint64_t last) {  // [first, last): its lowest few
    const std::uint64_t from = std::max(first, begin);
    const std::uint64_t to = std::min({last, end, from + kMaxUidConflicts});
    for (std::uint64_t uid = from; uid < to; ++uid) taken.insert(uid);
  };
  const auto number = [](const std::string& text, std::uint64_t* value) {
    if (text.empty() || text.size() > 10 || text.find_first_not_of("0123456789") != std::string::npos) return false;
    *value = std::stoull(text);
    return true;
  };
  std::string text;
  if (read_text("/etc/passwd", &text)) {
    for (const std::string& line : split(text, '\n')) {
      const std::vector<std::string> fields = split(line, ':');
      std::uint64_t uid = 0;
      if (fields.size() >= 3 && number(fields[2], &uid)) take(uid, uid + 1);
    }
  }
  if (read_text("/etc/subuid", &text)) {
    for (const std::string& line : split(text, '\n')) {
      const std::vector<std::string> fields = split(line, ':');
      std::uint64_t first = 0, length = 0;
      if (fields.size() == 3 && number(fields[1], &first) && number(fields[2], &length)) take(first, first + length);
    }
  }
  for (std::uint64_t uid : taken) {
    if (result.conflicts.size() == kMaxUidConflicts) break;
    result.conflicts.push_back(static_cast<std::uint32_t>(uid));
  }
  return result;
}

// --- privileges -----------------------------------------------------------------------------

bool probe_root() {
  if (geteuid() != 0) return false;
  std::string status;
  if (!read_text("/proc/self/status", &status)) return false;
  for (const std::string& line : split(status, '\n')) {
    if (line.compare(0, 7, "CapEff:") != 0) continue;
    const unsigned long long effective = std::strtoull(line.c_str() + 7, nullptr, 16);
    return ((effective >> kCapSysAdmin) & 1ULL) != 0;
  }
  return false;
}

}  // namespace

HostReport probe_host(std::uint32_t uid_start, std::uint32_t uid_count) {
  HostReport report;
  utsname names{};
  report.kernel = uname(&names) == 0 ? names.release : "";
  report.namespaces = probe_namespaces();
  report.seccomp = probe_seccomp();
  report.cgroup = probe_cgroups();
  report.uid_range = probe_uid_range(uid_start, uid_count);
  report.root = probe_root();
  return report;
}

}  // namespace sandgate::probe
