// The supervisor: the launcher process after clone, on the host side. It forwards signals
// to init, enforces the time limit, notices a vanished caller, and turns init's end into
// the launcher's exit status and report.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "launcher/clone-child.h"
#include "launcher/fail.h"
#include "launcher/plan.h"
#include "launcher/report.h"
#include "launcher/unique-fd.h"

namespace sandgate::launcher {

// Host side, first: blocks the forwarded signals (SIGINT SIGTERM SIGHUP SIGQUIT SIGUSR1
// SIGUSR2 SIGWINCH SIGCONT) and returns a signalfd for them. The child inherits the mask,
// which keeps them pending until init takes over (sandgate-init.c). Also ignores SIGPIPE.
bool block_forwarded_signals(UniqueFd* signals, Failure* failure);

// Host side: a pidfd of the caller (our parent), polled by supervise(): when the caller is
// gone, the sandbox is killed and its cgroups and report removed (reason caller_gone).
bool watch_caller(UniqueFd* caller, Failure* failure);

// Host side, after the last release: runs until init ends. `start_ns` is the launcher's
// start (CLOCK_MONOTONIC), from which the time limit counts.
Report supervise(const Plan& plan, Child* child, int signals, int caller, int64_t start_ns);

// CLOCK_MONOTONIC in ns.
int64_t monotonic_ns();

}  // namespace sandgate::launcher
