// See mounts.h. Every mount is a detached tree prepared in full (mount-api.h), then moved
// onto a mount point created below the new root without following symlinks, so a plan path
// that crosses a symlink (say /bin/x on a usr-merged system) fails instead of landing on
// the host.
#include "launcher/mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>

#include "launcher/mount-api.h"

namespace sandgate::launcher {
namespace {

// Where the new root is attached until pivot_root. Any directory will do: every host
// source is cloned before this, so whatever the new root hides there does not matter.
constexpr const char* kStagingDir = "/tmp";

constexpr uint64_t kReadOnlyBind = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
constexpr uint64_t kWritableBind = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

std::string octal(mode_t mode) {
  char buf[8];
  snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode));
  return buf;
}

size_t depth(const std::string& path) { return std::count(path.begin(), path.end(), '/'); }

// Splits "a/b/c" into "a/b" and "c" ("c" into "" and "c").
void split_parent(const std::string& rel, std::string* parent, std::string* leaf) {
  size_t slash = rel.rfind('/');
  *parent = slash == std::string::npos ? "" : rel.substr(0, slash);
  *leaf = slash == std::string::npos ? rel : rel.substr(slash + 1);
}

bool open_system_path(const std::string& path, MountSource* source, Failure* failure) {
  struct stat st;
  if (fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return true;  // contract: missing on the host -> skipped
    return fail(failure, Step::kMounts, "system path " + path + ": stat");
  }
  if (S_ISLNK(st.st_mode)) {  // usr-merged Debian: /bin -> usr/bin
    char target[PATH_MAX];
    ssize_t n = readlink(path.c_str(), target, sizeof target);
    if (n < 0 || n == sizeof target) return fail(failure, Step::kMounts, "system path " + path + ": readlink");
    source->symlink_target.assign(target, static_cast<size_t>(n));
    return true;
  }
  source->is_dir = S_ISDIR(st.st_mode);
  source->tree = clone_tree(AT_FDCWD, path.c_str(), true);
  if (!source->tree.valid()) return fail(failure, Step::kMounts, "system path " + path + ": open_tree");
  if (!add_mount_attrs(source->tree.get(), kReadOnlyBind, true)) {
    return fail(failure, Step::kMounts, "system path " + path + ": mount_setattr(ro,nosuid,nodev)");
  }
  return true;
}

bool open_bind(const BindMount& bind, MountSource* source, Failure* failure) {
  std::string what = std::string("bind ") + (bind.writable ? "rw " : "ro ") + bind.src + " -> " + bind.dst;
  source->tree = clone_tree(AT_FDCWD, bind.src.c_str(), true);
  if (!source->tree.valid()) {
    if (errno == ENOENT && bind.optional) return true;
    return fail(failure, Step::kMounts, what + ": open_tree");
  }
  struct stat st;
  if (fstat(source->tree.get(), &st) != 0) return fail(failure, Step::kMounts, what + ": stat");
  source->is_dir = S_ISDIR(st.st_mode);
  if (!add_mount_attrs(source->tree.get(), bind.writable ? kWritableBind : kReadOnlyBind, true)) {
    return fail(failure, Step::kMounts, what + ": mount_setattr");
  }
  return true;
}

bool open_tmpfs(const TmpfsMount& tmpfs, const SandboxUser& user, MountSource* source,
                Failure* failure) {
  std::string failed_option;
  if (tmpfs.owned_by_user) {
    source->tree = new_filesystem("tmpfs",
                                  {{"size", std::to_string(tmpfs.bytes)},
                                   {"mode", octal(tmpfs.mode)},
                                   {"uid", std::to_string(user.uid)},
                                   {"gid", std::to_string(user.gid)}},
                                  kWritableBind, &failed_option);
  } else {
    // No uid=/gid=: the root inode gets the creator's fsuid, host root, which is unmapped
    // inside and shows as the overflow uid ("nobody"), i.e. owned by no sandbox user.
    source->tree = new_filesystem("tmpfs",
                                  {{"size", std::to_string(tmpfs.bytes)},
                                   {"mode", octal(tmpfs.mode)}},
                                  kWritableBind, &failed_option);
  }
  if (!source->tree.valid()) {
    return fail(failure, Step::kMounts, "tmpfs " + tmpfs.dst + ": fsmount " + failed_option);
  }
  return true;
}

bool write_etc_file(int root, const EtcFile& file, Failure* failure) {
  std::string parent, leaf;
  split_parent("etc/" + file.name, &parent, &leaf);
  std::string what = "etc file /etc/" + file.name;
  UniqueFd dir = open_dir_beneath(root, parent, true);
  if (!dir.valid()) return fail(failure, Step::kMounts, what + ": mkdir");
  // The child runs with umask 0 (clone-child.cc), so `mode` is exact.
  UniqueFd fd(openat(dir.get(), leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     file.mode));
  if (!fd.valid()) return fail(failure, Step::kMounts, what + ": create");
  size_t done = 0;
  while (done < file.content.size()) {
    ssize_t n = write(fd.get(), file.content.data() + done, file.content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(failure, Step::kMounts, what + ": write");
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

UniqueFd open_dir_beneath(int root, const std::string& rel, bool create) {
  UniqueFd dir(fcntl(root, F_DUPFD_CLOEXEC, 0));
  size_t start = 0;
  while (dir.valid() && start < rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    std::string part = rel.substr(start, end - start);
    if (create && mkdirat(dir.get(), part.c_str(), 0755) != 0 && errno != EEXIST) return UniqueFd();
    open_how how{};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH;
    dir.reset(static_cast<int>(syscall(SYS_openat2, dir.get(), part.c_str(), &how, sizeof how)));
    start = end + 1;
  }
  return dir;
}

bool attach_beneath(int tree, int root, const std::string& rel, bool is_dir, Step step,
                    Failure* failure) {
  std::string parent, leaf;
  split_parent(rel, &parent, &leaf);
  UniqueFd dir = open_dir_beneath(root, parent, true);
  if (!dir.valid()) return fail(failure, step, "mount point /" + rel + ": mkdir parents");
  int rc = is_dir ? mkdirat(dir.get(), leaf.c_str(), 0755)
                  : mknodat(dir.get(), leaf.c_str(), S_IFREG | 0644, 0);
  if (rc != 0 && errno != EEXIST) return fail(failure, step, "mount point /" + rel + ": create");
  if (!attach_tree(tree, dir.get(), leaf.c_str())) {
    return fail(failure, step, "mount onto /" + rel + ": move_mount");
  }
  return true;
}

bool open_mount_sources(const Plan& plan, MountSources* sources, Failure* failure) {
  sources->system_paths.resize(plan.system_paths.size());
  sources->binds.resize(plan.binds.size());
  sources->tmpfs.resize(plan.tmpfs.size());
  for (size_t i = 0; i < plan.system_paths.size(); i++) {
    if (!open_system_path(plan.system_paths[i], &sources->system_paths[i], failure)) return false;
  }
  for (size_t i = 0; i < plan.binds.size(); i++) {
    if (!open_bind(plan.binds[i], &sources->binds[i], failure)) return false;
  }
  for (size_t i = 0; i < plan.tmpfs.size(); i++) {
    if (!open_tmpfs(plan.tmpfs[i], plan.user, &sources->tmpfs[i], failure)) return false;
  }
  return true;
}

bool build_root(const Plan& plan, MountSources* sources, UniqueFd* root, Failure* failure) {
  // Nothing mounted from here on propagates to the host, nor host mounts to us
  // (mount_namespaces(7), "Shared subtrees"); pivot_root(2) also refuses shared parents.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return fail(failure, Step::kMounts, "make / private");
  }
  std::string failed_option;
  *root = new_filesystem("tmpfs",
                         {{"size", std::to_string(plan.root_tmpfs_bytes)}, {"mode", "0755"}},
                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, &failed_option);
  if (!root->valid()) return fail(failure, Step::kMounts, "root tmpfs: fsmount " + failed_option);
  if (!attach_tree(root->get(), AT_FDCWD, kStagingDir)) {
    return fail(failure, Step::kMounts, std::string("root tmpfs: move_mount onto ") + kStagingDir);
  }
  for (size_t i = 0; i < plan.system_paths.size(); i++) {
    const std::string rel = plan.system_paths[i].substr(1);
    MountSource& source = sources->system_paths[i];
    if (!source.symlink_target.empty()) {
      std::string parent, leaf;
      split_parent(rel, &parent, &leaf);
      UniqueFd dir = open_dir_beneath(root->get(), parent, true);
      if (!dir.valid() || symlinkat(source.symlink_target.c_str(), dir.get(), leaf.c_str()) != 0) {
        return fail(failure, Step::kMounts, "system path /" + rel + ": symlink");
      }
    } else if (source.tree.valid() &&
               !attach_beneath(source.tree.get(), root->get(), rel, source.is_dir, Step::kMounts, failure)) {
      return false;
    }
  }
  for (const EtcFile& file : plan.etc_files) {
    if (!write_etc_file(root->get(), file, failure)) return false;
  }
  return true;
}

bool mount_volumes(const Plan& plan, MountSources* sources, int root, Failure* failure) {
  // Parents first, whatever the record order: a tmpfs /home/user before a bind into it,
  // a bind /work before a tmpfs /work/.cache.
  struct Volume {
    const std::string* dst;
    MountSource* source;
  };
  std::vector<Volume> volumes;
  for (size_t i = 0; i < plan.tmpfs.size(); i++) volumes.push_back({&plan.tmpfs[i].dst, &sources->tmpfs[i]});
  for (size_t i = 0; i < plan.binds.size(); i++) volumes.push_back({&plan.binds[i].dst, &sources->binds[i]});
  std::stable_sort(volumes.begin(), volumes.end(),
                   [](const Volume& a, const Volume& b) { return depth(*a.dst) < depth(*b.dst); });
  for (const Volume& v : volumes) {
    if (!v.source->tree.valid()) continue;  // optional bind whose source is missing
    if (!attach_beneath(v.source->tree.get(), root, v.dst->substr(1), v.source->is_dir,
                        Step::kMounts, failure)) {
      return false;
    }
  }
  return true;
}

bool pivot_into(int root, Failure* failure) {
  // pivot_root(".", ".") stacks the old root on top of the new one; unmounting "." then
  // detaches it (pivot_root(2), NOTES). No directory for the old root is needed.
  if (fchdir(root) != 0) return fail(failure, Step::kMounts, "chdir to the new root");
  if (syscall(SYS_pivot_root, ".", ".") != 0) return fail(failure, Step::kMounts, "pivot_root");
  if (umount2(".", MNT_DETACH) != 0) return fail(failure, Step::kMounts, "detach the old root");
  if (chdir("/") != 0) return fail(failure, Step::kMounts, "chdir /");
  if (!add_mount_attrs(root, MOUNT_ATTR_RDONLY, false)) {
    return fail(failure, Step::kMounts, "remount / read-only");
  }
  return true;
}

}  // namespace sandgate::launcher
