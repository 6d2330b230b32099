// The new mount API (open_tree, mount_setattr, move_mount, fsopen/fsconfig/fsmount; glibc
// 2.36 wraps them in <sys/mount.h>), as the launcher uses it: every mount is prepared as a
// detached tree, given its final flags, then moved into place. Detached trees make "bind a
// source that the new root would hide" and "read-only bind inside a user namespace" (which
// with mount(2) must repeat the source's locked flags: FIELD-NOTES, mount_setattr(2)) plain.
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "launcher/unique-fd.h"

namespace sandgate::launcher {

// A detached copy of the mount tree at `path` (recursive: with its submounts), like
// `mount --rbind` but not yet attached anywhere (open_tree(2)).
inline UniqueFd clone_tree(int dirfd, const char* path, bool recursive) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
  if (path[0] == '\0') flags |= AT_EMPTY_PATH;
  return UniqueFd(open_tree(dirfd, path, flags));
}

// Sets (never clears) MOUNT_ATTR_* flags on a tree (mount_setattr(2)). Only adding
// restrictions is allowed on mounts locked by a less privileged user namespace, which is all
// the launcher ever does.
inline bool add_mount_attrs(int tree, uint64_t attrs, bool recursive) {
  mount_attr attr{};
  attr.attr_set = attrs;
  unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  return mount_setattr(tree, "", flags, &attr, sizeof attr) == 0;
}

// Moves the detached (or attached) tree `tree` onto `to_dirfd`/`to_path`; the final
// component of `to_path` is not followed if it is a symlink (move_mount(2),
// MOVE_MOUNT_T_SYMLINKS unset).
inline bool attach_tree(int tree, int to_dirfd, const char* to_path) {
  return move_mount(tree, "", to_dirfd, to_path, MOVE_MOUNT_F_EMPTY_PATH) == 0;
}

// A new, detached instance of filesystem `type` with `options` (a null value sets a flag
// option such as devpts "newinstance") and mount attributes `attrs` (fsopen(2), fsconfig(2),
// fsmount(2)). On failure returns an invalid fd with errno set and *failed_option naming
// the rejected option, if one was.
inline UniqueFd new_filesystem(const char* type,
                               std::initializer_list<std::pair<const char*, std::string>> options,
                               uint64_t attrs, std::string* failed_option) {
  UniqueFd context(fsopen(type, FSOPEN_CLOEXEC));
  if (!context.valid()) return UniqueFd();
  for (const auto& [key, value] : options) {
    bool is_flag = value.empty();
    int rc = is_flag ? fsconfig(context.get(), FSCONFIG_SET_FLAG, key, nullptr, 0)
                     : fsconfig(context.get(), FSCONFIG_SET_STRING, key, value.c_str(), 0);
    if (rc != 0) {
      *failed_option = is_flag ? std::string(key) : std::string(key) + "=" + value;
      return UniqueFd();
    }
  }
  if (fsconfig(context.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return UniqueFd();
  return UniqueFd(fsmount(context.get(), FSMOUNT_CLOEXEC, static_cast<unsigned>(attrs)));
}

}  // namespace sandgate::launcher
