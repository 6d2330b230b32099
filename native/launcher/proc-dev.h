// /proc and /dev inside the sandbox, and the caller's terminal (when stdin is one).
#pragma once

#include <sys/types.h>

#include <string>

#include "launcher/fail.h"
#include "launcher/plan.h"
#include "launcher/unique-fd.h"

namespace sandgate::launcher {

// The caller's terminal on stdin, if any.
struct HostTty {
  bool present = false;
  std::string path;  // "/dev/pts/N": the child binds it by path (see proc-dev.cc)
  uid_t owner_uid = 0;
  gid_t owner_gid = 0;
};

// Host side, before clone: if stdin is a tty, remember it and give it up as controlling
// terminal (TIOCNOTTY) so that the command can take it with setsid() + TIOCSCTTY.
bool detach_caller_tty(HostTty* tty, Failure* failure);
// Host side, child waiting: hand the tty to the leased host uid, so that the sandbox user
// can open it as /dev/console (FIELD-NOTES).
bool lend_caller_tty(const HostTty& tty, uid_t host_uid, Failure* failure);
// Host side, at exit: give the tty back its owner (matters for `sandgate run` in a terminal).
void return_caller_tty(const HostTty& tty);

// Child side, before pivot (a new proc instance is refused once the old root, the last
// fully visible /proc, is gone: "mount too revealing", FIELD-NOTES): /proc with the plan's
// masks and read-only paths.
bool mount_proc(const Plan& plan, int root, Failure* failure);
// Child side, before pivot: /dev as a small tmpfs with null, zero, full, random, urandom,
// tty, a private devpts, the std symlinks, and the caller's tty as /dev/console.
bool mount_dev(const Plan& plan, const HostTty& tty, int root, UniqueFd* dev, Failure* failure);
// Child side, after the volumes (/dev/shm) are mounted: /dev becomes read-only.
bool seal_dev(int dev, Failure* failure);
// Child side, after pivot: reopen stdin/stdout/stderr that are the caller's tty from
// /dev/console, so that `tty` and job control see a terminal reachable inside.
bool reopen_console(const HostTty& tty, Failure* failure);

}  // namespace sandgate::launcher
