// See cgroup-join.h.
#include "launcher/cgroup-join.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <string>

namespace sandgate::launcher {
namespace {

bool write_file(const std::string& path, const std::string& content) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  return fd.valid() && write(fd.get(), content.data(), content.size()) == static_cast<ssize_t>(content.size());
}

}  // namespace

bool open_clone_cgroup(const Plan& plan, UniqueFd* dir, Failure* failure) {
  if (plan.cgroups.size() != 1) return true;
  struct statfs fs;
  if (statfs(plan.cgroups[0].c_str(), &fs) != 0) return fail(failure, Step::kCgroup, "statfs " + plan.cgroups[0]);
  if (fs.f_type != CGROUP2_SUPER_MAGIC) return true;
  dir->reset(open(plan.cgroups[0].c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir->valid()) return fail(failure, Step::kCgroup, "open " + plan.cgroups[0]);
  return true;
}

bool join_cgroups(pid_t pid, const Plan& plan, Failure* failure) {
  const std::string line = std::to_string(pid) + "\n";
  for (const std::string& dir : plan.cgroups) {
    if (!write_file(dir + "/cgroup.procs", line)) {
      return fail(failure, Step::kCgroup, "write pid to " + dir + "/cgroup.procs");
    }
  }
  return true;
}

bool enter_cgroup_namespace(Failure* failure) {
  if (unshare(CLONE_NEWCGROUP) != 0) return fail(failure, Step::kCgroup, "unshare(CLONE_NEWCGROUP)");
  return true;
}

void thaw_cgroups(const Plan& plan) {
  for (const std::string& dir : plan.cgroups) {
    // Each file exists only on its kind of hierarchy: v1 freezer, v2 any; ENOENT elsewhere.
    write_file(dir + "/freezer.state", "THAWED");
    write_file(dir + "/cgroup.freeze", "0");
  }
}

bool remove_cgroups(const Plan& plan, int timeout_ms, Failure* failure) {
  bool ok = true;
  timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (const std::string& dir : plan.cgroups) {
    while (rmdir(dir.c_str()) != 0 && errno != ENOENT) {
      timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long elapsed_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      if (errno != EBUSY || elapsed_ms >= timeout_ms) {
        if (ok) fail(failure, Step::kSupervisor, "rmdir " + dir);
        ok = false;
        break;
      }
      usleep(10 * 1000);
    }
  }
  return ok;
}

}  // namespace sandgate::launcher
