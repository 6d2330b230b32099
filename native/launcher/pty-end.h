// The end of a PTY sandbox's output (docs/internals/launcher-contract.md, "End of PTY
// output"). When the launcher exits, node-pty destroys the master 200 ms later unless it has
// read EIO by then (lib/unixTerminal.js, DESTROY_SOCKET_TIMEOUT_MS), and a caller whose client
// is not reading keeps the master paused: what was still in the kernel's PTY buffer was lost.
// So in PTY mode (plan record `pty_end_marker`) the launcher marks the end in band, after the
// last byte of the sandbox, and keeps the slave open until the caller has read the marker.
#pragma once

#include <signal.h>

#include "launcher/plan.h"

namespace sandgate::launcher {

// The caller's "marker read, exit now". SIGCONT because it is forwarded to init while the
// sandbox runs (supervisor.h) and is the one forwarded signal no client can ask for
// (server/session/session-input.ts): a client's late SIGINT or SIGTERM, meant for the command
// that has just ended, cannot cut the tail. Other forwarded signals are dropped meanwhile.
constexpr int kPtyEndReleaseSignal = SIGCONT;

// After init was reaped and the report written; no-op without a `pty_end_marker` record or
// without the supervisor's fds (a launcher that failed before it watched anything). Writes
// ESC ] sandgate-end ; <nonce> BEL to stdout (the PTY slave; output processing off, so it
// arrives byte for byte) without blocking, as the caller may not be reading, then returns
// once released: kPtyEndReleaseSignal on `signals`, the caller gone (its pidfd `caller`
// readable: then the cgroups and the report are removed, as for caller_gone), or a hangup
// or error on the slave (nobody can read the marker any more).
void announce_pty_end(const Plan& plan, int signals, int caller);

}  // namespace sandgate::launcher
