// The user namespace: the sandbox user (plan `user`, default 1000:1000) maps to exactly one
// leased, unprivileged host uid/gid; nothing else, host root in particular, is mapped.
#pragma once

#include <sys/types.h>

#include "launcher/fail.h"
#include "launcher/plan.h"

namespace sandgate::launcher {

// Host side, before clone: drop the launcher's supplementary groups, which the child would
// otherwise keep (host gid 0 included) because gid_map does not cover them.
bool drop_supplementary_groups(Failure* failure);

// Host side, child waiting: setgroups "deny", uid_map and gid_map of `pid`
// (user_namespaces(7), "User and group ID mappings").
bool write_id_maps(pid_t pid, const SandboxUser& user, uid_t host_id, Failure* failure);

// Child side, first thing after the maps exist: become the sandbox user while keeping the
// namespace's capabilities for the setup steps. Files cannot be created before this: an
// unmapped fsuid gets EOVERFLOW (FIELD-NOTES).
bool become_sandbox_user(const SandboxUser& user, Failure* failure);

}  // namespace sandgate::launcher
