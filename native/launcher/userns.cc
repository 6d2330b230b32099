// See userns.h.
#include "launcher/userns.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <string>

#include "launcher/caps.h"
#include "launcher/unique-fd.h"

namespace sandgate::launcher {
namespace {

bool write_proc_file(pid_t pid, const char* file, const std::string& content,
                     Failure* failure) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + file;
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return fail(failure, Step::kUserns, "open " + path);
  // The map files take the whole map in a single write(2) (user_namespaces(7)).
  if (write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    return fail(failure, Step::kUserns, "write " + path + " \"" + content.substr(0, content.size() - 1) + "\"");
  }
  return true;
}

}  // namespace

bool drop_supplementary_groups(Failure* failure) {
  if (setgroups(0, nullptr) != 0) return fail(failure, Step::kUserns, "setgroups(0)");
  return true;
}

bool write_id_maps(pid_t pid, const SandboxUser& user, uid_t host_id, Failure* failure) {
  // "deny" makes setgroups(2) fail inside for good, so the sandbox can never drop a group
  // to escape a group-denying permission (user_namespaces(7), /proc/[pid]/setgroups).
  std::string uid_line = std::to_string(user.uid) + " " + std::to_string(host_id) + " 1\n";
  std::string gid_line = std::to_string(user.gid) + " " + std::to_string(host_id) + " 1\n";
  return write_proc_file(pid, "setgroups", "deny\n", failure) &&
         write_proc_file(pid, "uid_map", uid_line, failure) &&
         write_proc_file(pid, "gid_map", gid_line, failure);
}

bool become_sandbox_user(const SandboxUser& user, Failure* failure) {
  // Host root is unmapped here, so the setuid "drop capabilities when leaving uid 0" rule
  // (capabilities(7), "Effect of user ID changes on capabilities") has no root to compare
  // against; KEEPCAPS and the restore below make the outcome independent of that detail.
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
    return fail(failure, Step::kUserns, "prctl(PR_SET_KEEPCAPS)");
  }
  if (setresgid(user.gid, user.gid, user.gid) != 0) {
    return fail(failure, Step::kUserns, "setresgid(" + std::to_string(user.gid) + ")");
  }
  if (setresuid(user.uid, user.uid, user.uid) != 0) {
    return fail(failure, Step::kUserns, "setresuid(" + std::to_string(user.uid) + ")");
  }
  if (!raise_effective_to_permitted()) {
    return fail(failure, Step::kUserns, "capset (restore effective after setresuid)");
  }
  return true;
}

}  // namespace sandgate::launcher
