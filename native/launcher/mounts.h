// The sandbox's filesystem: a fresh tmpfs root holding the plan's system paths, /etc files,
// tmpfs volumes and binds; pivot_root into it, the old root detached, the root read-only.
#pragma once

#include <string>
#include <vector>

#include "launcher/fail.h"
#include "launcher/plan.h"
#include "launcher/unique-fd.h"

namespace sandgate::launcher {

// One host object a plan record brings into the sandbox, opened before the uid switch.
struct MountSource {
  UniqueFd tree;               // detached mount (clone or new filesystem); invalid = skip
  bool is_dir = true;          // the mount point to create
  std::string symlink_target;  // system_path that is a symlink: copied as a symlink
};

struct MountSources {
  std::vector<MountSource> system_paths;  // index-aligned with plan.system_paths
  std::vector<MountSource> binds;         // ... with plan.binds
  std::vector<MountSource> tmpfs;         // ... with plan.tmpfs
};

// Child side, BEFORE the uid switch: clones the sources and creates the tmpfs volumes.
// Done as the launcher's (host root's) fsuid so that binds of root-only host paths resolve,
// and so that tmpfs volumes with owner `root` are not owned by the sandbox user.
bool open_mount_sources(const Plan& plan, MountSources* sources, Failure* failure);

// Child side, after the uid switch: the root tmpfs attached at the staging directory with
// system paths and /etc files. *root is the new root's directory fd.
bool build_root(const Plan& plan, MountSources* sources, UniqueFd* root, Failure* failure);

// Child side, after /proc and /dev: tmpfs volumes and binds, parents before children.
bool mount_volumes(const Plan& plan, MountSources* sources, int root, Failure* failure);

// Child side: pivot_root into `root`, detach the old root, make the root read-only.
bool pivot_into(int root, Failure* failure);

// Helpers shared with proc-dev.cc.
// Creates the mount point `rel` below `root` (a directory, or an empty file when !is_dir,
// with missing parent directories; symlinks refused) and moves `tree` onto it.
bool attach_beneath(int tree, int root, const std::string& rel, bool is_dir, Step step,
                    Failure* failure);
// Opens the directory `rel` below `root`, creating it and its parents when `create`,
// without following any symlink (openat2(2), RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH).
UniqueFd open_dir_beneath(int root, const std::string& rel, bool create);

}  // namespace sandgate::launcher
