// See proc-dev.h.
#include "launcher/proc-dev.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>

#include "launcher/mount-api.h"
#include "launcher/mounts.h"

namespace sandgate::launcher {
namespace {

// Device nodes cannot be created in a user namespace (mknod(2) needs CAP_MKNOD in the
// initial one), so these are binds of the host's nodes.
constexpr const char* kDevices[] = {"null", "zero", "full", "random", "urandom", "tty"};

constexpr const char* kDevSymlinks[][2] = {
    {"ptmx", "pts/ptmx"},  // the private devpts' multiplexer (devpts.rst, "newinstance")
    {"fd", "/proc/self/fd"},
    {"stdin", "/proc/self/fd/0"},
    {"stdout", "/proc/self/fd/1"},
    {"stderr", "/proc/self/fd/2"},
};

constexpr uint64_t kNoExec = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;

// A bind of a host device node: not nodev, or it could not be opened.
UniqueFd device_bind(const char* host_path) {
  UniqueFd tree = clone_tree(AT_FDCWD, host_path, false);
  if (tree.valid() && !add_mount_attrs(tree.get(), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, false)) {
    return UniqueFd();
  }
  return tree;
}

bool mask_proc_path(int proc, const std::string& rel, Failure* failure) {
  struct stat st;
  if (fstatat(proc, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return true;  // contract: missing -> skipped
    return fail(failure, Step::kProcDev, "mask /proc/" + rel + ": stat");
  }
  std::string failed_option;
  // Directories: an empty read-only tmpfs; files: /dev/null (what Docker masks with).
  UniqueFd tree = S_ISDIR(st.st_mode)
                      ? new_filesystem("tmpfs", {{"size", "4k"}, {"mode", "0555"}},
                                       kNoExec | MOUNT_ATTR_RDONLY, &failed_option)
                      : device_bind("/dev/null");
  if (tree.valid() && !S_ISDIR(st.st_mode) && !add_mount_attrs(tree.get(), MOUNT_ATTR_RDONLY, false)) {
    tree.reset();
  }
  if (!tree.valid()) return fail(failure, Step::kProcDev, "mask /proc/" + rel + ": prepare mount " + failed_option);
  if (!attach_tree(tree.get(), proc, rel.c_str())) {
    return fail(failure, Step::kProcDev, "mask /proc/" + rel + ": move_mount");
  }
  return true;
}

bool make_proc_path_readonly(int proc, const std::string& rel, Failure* failure) {
  UniqueFd tree = clone_tree(proc, rel.c_str(), true);
  if (!tree.valid()) {
    if (errno == ENOENT) return true;  // contract: missing -> skipped
    return fail(failure, Step::kProcDev, "read-only /proc/" + rel + ": open_tree");
  }
  // No nodev: the clone keeps the proc mount's own nodev, and a recursive nodev would reach
  // the /dev/null binds that mask files below it (sys/kernel/random/boot_id), which then
  // could not be opened (EACCES) instead of reading empty.
  if (!add_mount_attrs(tree.get(), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_RDONLY, true) ||
      !attach_tree(tree.get(), proc, rel.c_str())) {
    return fail(failure, Step::kProcDev, "read-only /proc/" + rel + ": mount");
  }
  return true;
}

}  // namespace

bool detach_caller_tty(HostTty* tty, Failure* failure) {
  if (!isatty(STDIN_FILENO)) return true;
  char path[PATH_MAX];
  // The child binds the tty by path: a bind needs a mount of its own mount namespace, and
  // fd 0 (or /proc/self/fd/0, a "magic link" to it) still points into the host's.
  if (ttyname_r(STDIN_FILENO, path, sizeof path) != 0) {
    return fail_with(failure, Step::kProcDev, "stdin is a tty but has no path under /dev", errno);
  }
  struct stat st;
  if (fstat(STDIN_FILENO, &st) != 0) return fail(failure, Step::kProcDev, "stat the tty");
  tty->present = true;
  tty->path = path;
  tty->owner_uid = st.st_uid;
  tty->owner_gid = st.st_gid;
  // A session leader giving up its terminal sends SIGHUP and SIGCONT to the terminal's
  // foreground process group, i.e. to us under node-pty (tty_ioctl(4), TIOCNOTTY). An
  // ignored signal is discarded when generated, so SIG_IGN around the ioctl drops it.
  struct sigaction ignore {}, previous {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGHUP, &ignore, &previous);
  int rc = ioctl(STDIN_FILENO, TIOCNOTTY);
  int error = errno;
  // Setting SIG_IGN again discards a SIGHUP left pending had the caller blocked it
  // (sigaction(2): blocked signals are queued even when ignored).
  sigaction(SIGHUP, &ignore, nullptr);
  sigaction(SIGHUP, &previous, nullptr);
  // ENOTTY: the tty is not our controlling terminal (e.g. run from an interactive shell's
  // pipeline): then there is nothing to give up.
  if (rc != 0 && error != ENOTTY) return fail_with(failure, Step::kProcDev, "ioctl(TIOCNOTTY)", error);
  return true;
}

bool lend_caller_tty(const HostTty& tty, uid_t host_uid, Failure* failure) {
  if (tty.present && fchown(STDIN_FILENO, host_uid, static_cast<gid_t>(-1)) != 0) {
    return fail(failure, Step::kProcDev, "chown the tty to uid " + std::to_string(host_uid));
  }
  return true;
}

void return_caller_tty(const HostTty& tty) {
  if (tty.present && fchown(STDIN_FILENO, tty.owner_uid, tty.owner_gid) != 0) {
    // Best effort at exit: the caller (node-pty) closes this pty anyway.
  }
}

bool mount_proc(const Plan& plan, int root, Failure* failure) {
  std::string failed_option;
  UniqueFd proc = new_filesystem("proc", {}, kNoExec, &failed_option);
  if (!proc.valid()) return fail(failure, Step::kProcDev, "proc: fsmount " + failed_option);
  if (!attach_beneath(proc.get(), root, "proc", true, Step::kProcDev, failure)) return false;
  // Masks first: the read-only clones below are recursive and so keep masks under them.
  for (const std::string& rel : plan.proc_mask) {
    if (!mask_proc_path(proc.get(), rel, failure)) return false;
  }
  for (const std::string& rel : plan.proc_readonly) {
    if (!make_proc_path_readonly(proc.get(), rel, failure)) return false;
  }
  return true;
}

bool mount_dev(const Plan& plan, const HostTty& tty, int root, UniqueFd* dev, Failure* failure) {
  std::string failed_option;
  *dev = new_filesystem("tmpfs", {{"size", "64k"}, {"mode", "0755"}}, kNoExec, &failed_option);
  if (!dev->valid()) return fail(failure, Step::kProcDev, "/dev tmpfs: fsmount " + failed_option);
  if (!attach_beneath(dev->get(), root, "dev", true, Step::kProcDev, failure)) return false;
  for (const char* name : kDevices) {
    std::string host = std::string("/dev/") + name;
    UniqueFd node = device_bind(host.c_str());
    if (!node.valid()) return fail(failure, Step::kProcDev, "bind " + host + ": open_tree");
    if (!attach_beneath(node.get(), dev->get(), name, false, Step::kProcDev, failure)) return false;
  }
  // A private devpts: the sandbox sees only its own ptys, at most devpts_max of them, and
  // the machine-wide kernel.pty.max is shared fairly (FIELD-NOTES). No gid= option: the tty
  // group is not mapped in the user namespace.
  UniqueFd pts = new_filesystem("devpts",
                                {{"newinstance", ""},
                                 {"ptmxmode", "0666"},
                                 {"mode", "0620"},
                                 {"max", std::to_string(plan.devpts_max)}},
                                MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, &failed_option);
  if (!pts.valid()) return fail(failure, Step::kProcDev, "devpts: fsmount " + failed_option);
  if (!attach_beneath(pts.get(), dev->get(), "pts", true, Step::kProcDev, failure)) return false;
  for (const auto& [name, target] : kDevSymlinks) {
    if (symlinkat(target, dev->get(), name) != 0) {
      return fail(failure, Step::kProcDev, std::string("symlink /dev/") + name);
    }
  }
  if (mkdirat(dev->get(), "shm", 01777) != 0) return fail(failure, Step::kProcDev, "mkdir /dev/shm");
  if (tty.present) {
    UniqueFd console = device_bind(tty.path.c_str());
    if (!console.valid()) return fail(failure, Step::kProcDev, "bind " + tty.path + ": open_tree");
    if (!attach_beneath(console.get(), dev->get(), "console", false, Step::kProcDev, failure)) {
      return false;
    }
  }
  return true;
}

bool seal_dev(int dev, Failure* failure) {
  if (!add_mount_attrs(dev, MOUNT_ATTR_RDONLY, false)) {
    return fail(failure, Step::kProcDev, "remount /dev read-only");
  }
  return true;
}

bool reopen_console(const HostTty& tty, Failure* failure) {
  if (!tty.present) return true;
  UniqueFd console(open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!console.valid()) return fail(failure, Step::kProcDev, "open /dev/console");
  struct stat want;
  if (fstat(console.get(), &want) != 0) return fail(failure, Step::kProcDev, "stat /dev/console");
  // Only the fds that are this tty: `sandgate run -- cmd > file` keeps its redirections.
  for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == want.st_rdev &&
        dup2(console.get(), fd) < 0) {
      return fail(failure, Step::kProcDev, "dup2 /dev/console onto fd " + std::to_string(fd));
    }
  }
  return true;
}

}  // namespace sandgate::launcher
