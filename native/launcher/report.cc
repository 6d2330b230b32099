// See report.h.
#include "launcher/report.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "launcher/unique-fd.h"

namespace sandgate::launcher {
namespace {

const char* reason_name(Reason reason) {
  switch (reason) {
    case Reason::kExit: return "exit";
    case Reason::kSignal: return "signal";
    case Reason::kTimeLimit: return "time_limit";
    case Reason::kLauncherError: return "launcher_error";
    case Reason::kCallerGone: return "caller_gone";
  }
  return "launcher_error";
}

// Length of the valid UTF-8 sequence at s[0..n), or 0 (RFC 3629, section 4).
size_t utf8_sequence(const unsigned char* s, size_t n) {
  size_t len = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : 0;
  if (len == 0 || len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
  }
  if (len == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0))) return 0;
  if (len == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))) return 0;
  return len;
}

// A JSON string (RFC 8259): messages hold paths, which may be any bytes; invalid UTF-8
// becomes U+FFFD so that the report always parses.
std::string json_string(const std::string& text) {
  std::string out = "\"";
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  for (size_t i = 0; i < text.size();) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else if (c >= 0x80) {
      size_t len = utf8_sequence(s + i, text.size() - i);
      if (len == 0) {
        out += "\\ufffd";
        i++;
        continue;
      }
      out.append(text, i, len);
      i += len;
      continue;
    } else {
      out += static_cast<char>(c);
    }
    i++;
  }
  return out + "\"";
}

template <typename T>
std::string json_optional(const std::optional<T>& value) {
  return value ? std::to_string(*value) : "null";
}

std::string to_json(const Report& r) {
  char wall[32];
  snprintf(wall, sizeof wall, "%.3f", r.wall_ms);
  std::string error = "null";
  if (r.error) {
    error = std::string("{\"step\":") + json_string(step_name(r.error->step)) +
            ",\"exitCode\":" + std::to_string(static_cast<int>(r.error->step)) +
            // The stderr line without "sandgate-launcher: ": `<step>: <what>: <strerror>`.
            ",\"message\":" + json_string(std::string(step_name(r.error->step)) + ": " + r.error->message) + "}";
  }
  return std::string("{\"version\":1,\"reason\":\"") + reason_name(r.reason) +
         "\",\"exitCode\":" + json_optional(r.exit_code) + ",\"signal\":" + json_optional(r.signal) +
         ",\"status\":" + std::to_string(r.status) + ",\"hostUid\":" + json_optional(r.host_uid) +
         ",\"initPid\":" + json_optional(r.init_pid) + ",\"wallMs\":" + wall +
         ",\"error\":" + error + "}\n";
}

}  // namespace

Report launcher_error(const Failure& failure) {
  Report report;
  report.reason = Reason::kLauncherError;
  report.status = static_cast<int>(failure.step);
  report.error = failure;
  return report;
}

bool write_report(const std::string& path, const Report& report, Failure* failure) {
  const std::string json = to_json(report);
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  UniqueFd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd.valid()) return fail(failure, Step::kSupervisor, "report: create " + tmp);
  if (write(fd.get(), json.data(), json.size()) != static_cast<ssize_t>(json.size())) {
    fail(failure, Step::kSupervisor, "report: write " + tmp);
    unlink(tmp.c_str());
    return false;
  }
  fd.reset();
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    fail(failure, Step::kSupervisor, "report: rename to " + path);
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace sandgate::launcher
