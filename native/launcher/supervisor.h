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

// Host side: PR_SET_PDEATHSIG(SIGTERM), so that the caller's death reaches us as SIGTERM;
// *caller is the parent pid to compare getppid() with (prctl(2): the signal may have been
// missed if the parent died before the prctl, hence the check).
bool watch_caller(pid_t* caller, Failure* failure);

// Host side, after the last release: runs until init ends. `start_ns` is the launcher's
// start (CLOCK_MONOTONIC), from which the time limit counts.
Report supervise(const Plan& plan, Child* child, int signals, pid_t caller, int64_t start_ns);

// CLOCK_MONOTONIC in ns.
int64_t monotonic_ns();

}  // namespace sandgate::launcher
