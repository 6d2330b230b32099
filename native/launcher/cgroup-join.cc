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
#include <utility>

namespace sandgate::launcher {
namespace {

bool write_file(const std::string& path, const std::string& content) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  return fd.valid() && write(fd.get(), content.data(), content.size()) == static_cast<ssize_t>(content.size());
}

}  // namespace

bool open_cgroup_join(const Plan& plan, CgroupJoin* join, Failure* failure) {
  for (const std::string& dir : plan.cgroups) {
    struct statfs fs;
    if (statfs(dir.c_str(), &fs) != 0) return fail(failure, Step::kCgroup, "statfs " + dir);
    if (fs.f_type == CGROUP2_SUPER_MAGIC) {
      if (plan.cgroups.size() != 1) {
        return fail_with(failure, Step::kCgroup, dir + " is cgroup v2, which takes exactly one `cgroup` record", EINVAL);
      }
      join->clone_dir.reset(open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!join->clone_dir.valid()) return fail(failure, Step::kCgroup, "open " + dir);
      return true;
    }
    UniqueFd tasks(open((dir + "/tasks").c_str(), O_WRONLY | O_CLOEXEC));
    if (!tasks.valid()) return fail(failure, Step::kCgroup, "open " + dir + "/tasks");
    join->tasks.push_back(std::move(tasks));
  }
  return true;
}

bool join_cgroups(const Plan& plan, const CgroupJoin& join, Failure* failure) {
  // join.tasks[i] is plan.cgroups[i]/tasks (open_cgroup_join).
  for (size_t i = 0; i < join.tasks.size(); i++) {
    int fd = join.tasks[i].get();
    bool joined = write(fd, "0", 1) == 1;  // "0": the writing thread itself
    int error = errno;
    close(fd);  // the child's copy (no CLONE_FILES); the supervisor closes its own after clone
    if (!joined) return fail_with(failure, Step::kCgroup, "write 0 to " + plan.cgroups[i] + "/tasks", error);
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
