// See pty-end.h.
#include "launcher/pty-end.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include "launcher/cgroup-join.h"
#include "launcher/fail.h"

namespace sandgate::launcher {
namespace {

// An OSC sequence (ECMA-48 8.3.89): a terminal that met one would ignore it. The caller
// strips it; the sandbox cannot forge it, as it never sees the nonce (the plan is in the
// launcher's environment only, and unset at once: plan.h).
constexpr char kMarkerStart[] = "\x1b]sandgate-end;";
constexpr char kMarkerEnd = '\x07';
// How long a caller-gone cleanup waits for the cgroups to empty, as supervise() does. They
// are empty already here: init was reaped, and with it the whole pid namespace.
constexpr int kCgroupRemoveTimeoutMs = 2000;

// The sandbox may have left any output mode on its terminal, OLCUC (lower to upper case)
// included: with output processing off the marker leaves byte for byte (termios(3), OPOST).
// TCSANOW, not TCSADRAIN, which would wait for the caller to read. Output stopped by a ^S
// (IXON) is restarted: the command it was held for is gone. Best effort: stdout may not be a
// terminal (ENOTTY), and the marker is written either way.
void prepare_terminal(int fd) {
  termios mode;
  if (tcgetattr(fd, &mode) == 0) {
    mode.c_oflag &= ~static_cast<tcflag_t>(OPOST);
    (void)tcsetattr(fd, TCSANOW, &mode);
    (void)tcflow(fd, TCOON);
  }
}

// Writes what the slave takes of marker[*written..]. False when it cannot go on (EIO once
// the caller closed the master): nobody is left to read it.
bool write_some(int fd, const std::string& marker, size_t* written) {
  while (*written < marker.size()) {
    ssize_t n = write(fd, marker.data() + *written, marker.size() - *written);
    if (n > 0) {
      *written += static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      return true;  // the caller is not reading: poll for POLLOUT
    } else if (n < 0 && errno != EINTR) {
      return false;
    }
  }
  return true;
}

// The caller died while we lingered: nobody removes what it owned (contract, "Signals and
// lifetime"), so we do, as supervise() does for caller_gone.
void clean_up_for_gone_caller(const Plan& plan) {
  Failure failure;
  if (!remove_cgroups(plan, kCgroupRemoveTimeoutMs, &failure)) print_failure(failure);
  if (plan.report_path) unlink(plan.report_path->c_str());
}

}  // namespace

void announce_pty_end(const Plan& plan, int signals, int caller) {
  if (!plan.pty_end_nonce || signals < 0 || caller < 0) return;
  const std::string marker = kMarkerStart + *plan.pty_end_nonce + kMarkerEnd;
  const int out = STDOUT_FILENO;
  prepare_terminal(out);
  // Ours alone now: init is reaped, so nothing of the sandbox shares this file description.
  int flags = fcntl(out, F_GETFL);
  if (flags < 0 || fcntl(out, F_SETFL, flags | O_NONBLOCK) != 0) return;
  size_t written = 0;
  for (;;) {
    if (!write_some(out, marker, &written)) return;
    // POLLHUP and POLLERR are reported even when not asked for (poll(2)).
    pollfd fds[3] = {{signals, POLLIN, 0},
                     {caller, POLLIN, 0},
                     {out, static_cast<short>(written < marker.size() ? POLLOUT : 0), 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return clean_up_for_gone_caller(plan);
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info;
      if (read(signals, &info, sizeof info) == sizeof info &&
          static_cast<int>(info.ssi_signo) == kPtyEndReleaseSignal) {
        return;
      }
    }
    if (fds[2].revents & (POLLHUP | POLLERR | POLLNVAL)) return;
  }
}

}  // namespace sandgate::launcher
