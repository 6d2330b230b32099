// See clone-child.h.
#include "launcher/clone-child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sandgate::launcher {
namespace {

constexpr uint64_t kNamespaces = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET |
                                 CLONE_NEWUTS | CLONE_NEWIPC;

// What travels on the error pipe; below PIPE_BUF, so one write(2) is atomic (pipe(7)).
struct ChildFailure {
  int32_t exit_code;
  uint32_t length;
  char message[1024];
};

}  // namespace

bool open_init_executable(UniqueFd* fd, Failure* failure) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return fail(failure, Step::kExec, "readlink /proc/self/exe");
  std::string path(self, static_cast<size_t>(n));
  path = path.substr(0, path.rfind('/') + 1) + "sandgate-init";
  fd->reset(open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!fd->valid()) return fail(failure, Step::kExec, "open " + path);
  return true;
}

bool spawn_child(ChildContext* context, int cgroup_dir, ChildEntry entry, Child* child,
                 Failure* failure) {
  int release[2], error[2];
  if (pipe2(release, O_CLOEXEC) != 0) return fail(failure, Step::kSupervisor, "pipe2 (release)");
  child->release_write.reset(release[1]);
  UniqueFd release_read(release[0]);
  if (pipe2(error, O_CLOEXEC) != 0) return fail(failure, Step::kSupervisor, "pipe2 (errors)");
  child->error_read.reset(error[0]);
  UniqueFd error_write(error[1]);
  int status[2];
  if (pipe2(status, O_CLOEXEC) != 0) return fail(failure, Step::kSupervisor, "pipe2 (status)");
  child->status_read.reset(status[0]);
  UniqueFd status_write(status[1]);
  context->status_read = child->status_read.get();
  context->status_write = status_write.get();
  context->release_read = release_read.get();
  context->release_write = child->release_write.get();
  context->error_read = child->error_read.get();
  context->error_write = error_write.get();

  // clone3 without a stack behaves like fork(2) (clone(2), "clone3"): the child continues
  // here on a copy of our memory. No CLONE_NEWCGROUP yet: see cgroup-join.h.
  int pidfd = -1;
  clone_args args{};
  args.flags = kNamespaces | CLONE_PIDFD | (cgroup_dir >= 0 ? CLONE_INTO_CGROUP : 0);
  args.pidfd = reinterpret_cast<uintptr_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  args.cgroup = cgroup_dir >= 0 ? static_cast<uint64_t>(cgroup_dir) : 0;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) return fail(failure, Step::kClone, "clone3(NEWUSER|NEWPID|NEWNS|NEWNET|NEWUTS|NEWIPC)");
  if (pid == 0) {
    // If the supervisor dies, so does the sandbox; if it died already, await_release
    // reads EOF. getppid() cannot tell: it is 0 across the pid namespace boundary.
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    // The supervisor's pipe ends, and the lease socket: a socket of the host's network
    // namespace would let the sandbox reach the host's abstract unix sockets (SECURITY.md
    // D). The lease itself stays held by the supervisor's copy until it exits.
    close(context->release_write);
    close(context->error_read);
    close(context->status_read);
    close(context->uid_lease);
    // exec_init puts the status pipe on fd 3: the two fds used until the exec move away.
    for (int* fd : {&context->init_executable, &context->error_write}) {
      if (*fd == kInitStatusFd && (*fd = fcntl(*fd, F_DUPFD_CLOEXEC, kInitStatusFd + 1)) < 0) {
        _exit(static_cast<int>(Step::kSupervisor));
      }
    }
    umask(0);  // setup creates files with exact modes; fds-env.cc sets 022 before exec
    entry(*context);
    _exit(static_cast<int>(Step::kSupervisor));  // not reached: entry does not return
  }
  child->pid = static_cast<pid_t>(pid);
  child->pidfd.reset(pidfd);
  return true;
}

bool release_child(const Child& child, Release point, Failure* failure) {
  const char message = static_cast<char>(point);
  ssize_t n = write(child.release_write.get(), &message, 1);
  // EPIPE: the child has exited already, after a failed step; its error pipe says which.
  if (n != 1 && !(n < 0 && errno == EPIPE)) return fail(failure, Step::kSupervisor, "release the child");
  return true;
}

void kill_child(Child* child) {
  if (child->pid <= 0) return;
  syscall(SYS_pidfd_send_signal, child->pidfd.get(), SIGKILL, nullptr, 0);
  while (waitpid(child->pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  child->pid = -1;
}

bool read_child_outcome(const Child& child, bool* exec_done, Failure* failure) {
  ChildFailure message;
  ssize_t n;
  do {
    n = read(child.error_read.get(), &message, sizeof message);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail(failure, Step::kSupervisor, "read the error pipe");
  *exec_done = n == 0;
  if (n == 0) return true;
  Step step = Step::kSupervisor;
  size_t header = offsetof(ChildFailure, message);
  if (static_cast<size_t>(n) < header || message.length > sizeof message.message ||
      static_cast<size_t>(n) != header + message.length || !step_from_code(message.exit_code, &step)) {
    return fail_msg(failure, Step::kSupervisor, "malformed message on the error pipe");
  }
  fail_msg(failure, step, std::string(message.message, message.length));
  return true;
}

bool read_command_status(const Child& child, int* status) {
  // Never blocks: init and everything else that held the write end is gone.
  int32_t raw = 0;
  if (read(child.status_read.get(), &raw, sizeof raw) != sizeof raw) return false;
  *status = raw;
  return true;
}

bool await_release(const ChildContext& context, Release point, Failure* failure) {
  char message = 0;
  ssize_t n;
  do {
    n = read(context.release_read, &message, 1);
  } while (n < 0 && errno == EINTR);
  if (n == 0) _exit(static_cast<int>(Step::kSupervisor));  // supervisor gone: nobody to tell
  if (n < 0) return fail(failure, Step::kSupervisor, "wait for the supervisor");
  if (message != static_cast<char>(point)) {
    return fail_with(failure, Step::kSupervisor, "wait for the supervisor: out of order", EPROTO);
  }
  return true;
}

bool rearm_parent_death_signal(const ChildContext& context, Failure* failure) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
    return fail(failure, Step::kUserns, "prctl(PR_SET_PDEATHSIG)");
  }
  // The supervisor may have died between the uid switch and the prctl: its release pipe
  // end, held for its whole life, then hangs up.
  pollfd pfd{context.release_read, POLLIN, 0};
  if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLHUP)) _exit(static_cast<int>(Step::kSupervisor));
  return true;
}

bool exec_init(const ChildContext& context, Failure* failure) {
  const Plan& plan = *context.plan;
  std::vector<char*> argv{const_cast<char*>("sandgate-init"), const_cast<char*>("--")};
  for (const std::string& arg : plan.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const std::string& kv : plan.env) envp.push_back(const_cast<char*>(kv.c_str()));
  envp.push_back(nullptr);
  // The status pipe becomes init's fd 3, the one fd above stderr without close-on-exec
  // (fds-env.cc marked all others). Whatever sat on 3 is no longer needed (spawn_child).
  int placed = context.status_write == kInitStatusFd
                   ? fcntl(kInitStatusFd, F_SETFD, 0)
                   : dup2(context.status_write, kInitStatusFd);
  if (placed < 0) return fail(failure, Step::kExec, "status pipe as fd 3");
  // By fd: the file lives on the host, outside the new root (execveat(2), AT_EMPTY_PATH).
  syscall(SYS_execveat, context.init_executable, "", argv.data(), envp.data(), AT_EMPTY_PATH);
  return fail(failure, Step::kExec, "execveat sandgate-init");
}

void exit_with_failure(const ChildContext& context, const Failure& failure) {
  ChildFailure message{};
  message.exit_code = static_cast<int32_t>(failure.step);
  message.length = static_cast<uint32_t>(std::min(failure.message.size(), sizeof message.message));
  memcpy(message.message, failure.message.data(), message.length);
  ssize_t ignored = write(context.error_write, &message, offsetof(ChildFailure, message) + message.length);
  (void)ignored;
  _exit(static_cast<int>(failure.step));
}

}  // namespace sandgate::launcher
