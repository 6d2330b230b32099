// Decoder of the launch plan (docs/internals/launcher-contract.md, "Launch plan").
// Records are `<key> <len>...\n` followed by that many fields, each followed by `\n`.
#include "launcher/plan.h"

#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace sandgate::launcher {
namespace {

constexpr uint64_t kMaxMs = 7ull * 24 * 3600 * 1000;  // SPEC_BOUNDS.timeLimitMs.max
constexpr size_t kHostNameMax = 64;                    // HOST_NAME_MAX, gethostname(2)

struct RlimitName {
  const char* name;
  int resource;
};

// The names of setrlimit(2) resources a plan may set.
constexpr RlimitName kRlimitNames[] = {
    {"nofile", RLIMIT_NOFILE},       {"nproc", RLIMIT_NPROC},   {"fsize", RLIMIT_FSIZE},
    {"core", RLIMIT_CORE},           {"cpu", RLIMIT_CPU},       {"as", RLIMIT_AS},
    {"stack", RLIMIT_STACK},         {"memlock", RLIMIT_MEMLOCK},
    {"msgqueue", RLIMIT_MSGQUEUE},   {"nice", RLIMIT_NICE},     {"rtprio", RLIMIT_RTPRIO},
    {"sigpending", RLIMIT_SIGPENDING}, {"locks", RLIMIT_LOCKS}, {"data", RLIMIT_DATA},
};

bool parse_u64(std::string_view s, uint64_t max, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  if (v > max) return false;
  *out = v;
  return true;
}

bool parse_mode(std::string_view s, mode_t* out) {
  if (s.empty() || s.size() > 5) return false;
  mode_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '7') return false;
    v = v * 8 + static_cast<mode_t>(c - '0');
  }
  if (v > 07777) return false;
  *out = v;
  return true;
}

bool parse_rlim(std::string_view s, rlim_t* out) {
  if (s == "unlimited") {
    *out = RLIM_INFINITY;
    return true;
  }
  uint64_t v;
  if (!parse_u64(s, RLIM_INFINITY - 1, &v)) return false;
  *out = v;
  return true;
}

// A relative path with no empty, "." or ".." component ("a/b").
bool is_clean_relative(std::string_view p) {
  if (p.empty()) return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    std::string_view part = p.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

// "/" or an absolute path whose components are clean ("/a/b").
bool is_clean_absolute(std::string_view p, bool allow_root) {
  if (p == "/") return allow_root;
  return p.size() > 1 && p[0] == '/' && is_clean_relative(p.substr(1));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A struct sock_filter array written as lowercase hex, two digits per byte in memory order
// (the environment cannot carry the NUL bytes of the raw program).
bool parse_program(std::string_view hex, std::vector<sock_filter>* out) {
  if (hex.size() % 2 != 0) return false;
  std::string bytes(hex.size() / 2, '\0');
  for (size_t i = 0; i < bytes.size(); i++) {
    int high = hex_digit(hex[2 * i]), low = hex_digit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    bytes[i] = static_cast<char>(high << 4 | low);
  }
  if (bytes.empty() || bytes.size() % sizeof(sock_filter) != 0 ||
      bytes.size() / sizeof(sock_filter) > BPF_MAXINSNS) {
    return false;
  }
  out->resize(bytes.size() / sizeof(sock_filter));
  memcpy(out->data(), bytes.data(), bytes.size());
  return true;
}

// proc_mask / proc_readonly name a path under /proc; both "/proc/kcore" and "kcore" are
// accepted (the contract does not say which) and stored relative ("kcore").
bool parse_proc_path(std::string_view p, std::string* out) {
  if (p.substr(0, 6) == "/proc/") p.remove_prefix(6);
  if (!is_clean_relative(p)) return false;
  *out = std::string(p);
  return true;
}

class Decoder {
 public:
  Decoder(std::string_view text, bool insecure_test, Plan* plan, Failure* failure)
      : text_(text), insecure_test_(insecure_test), plan_(plan), failure_(failure) {}

  bool run() {
    if (text_.size() > kPlanMaxBytes) {
      return error("plan is " + std::to_string(text_.size()) + " bytes, more than " +
                   std::to_string(kPlanMaxBytes));
    }
    while (pos_ < text_.size()) {
      if (!next_record()) return false;
    }
    return check_required();
  }

 private:
  bool error(const std::string& sentence) { return fail_msg(failure_, Step::kPlan, sentence); }
  bool bad(const std::string& what) { return error("record `" + key_ + "`: " + what); }

  // Reads one header line and its fields into key_ / fields_, then applies the record.
  bool next_record() {
    size_t eol = text_.find('\n', pos_);
    if (eol == std::string_view::npos) return error("header line without newline");
    std::string_view header = text_.substr(pos_, eol - pos_);
    pos_ = eol + 1;
    size_t sp = header.find(' ');
    std::string_view key = header.substr(0, sp);
    if (key.empty() || key.size() > 32 || key.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") !=
                                              std::string_view::npos) {
      return error("bad record key");
    }
    key_ = std::string(key);
    fields_.clear();
    std::vector<uint64_t> lengths;
    while (sp != std::string_view::npos) {
      size_t next = header.find(' ', sp + 1);
      std::string_view len = header.substr(sp + 1, next == std::string_view::npos
                                                       ? std::string_view::npos
                                                       : next - sp - 1);
      uint64_t n;
      if (!parse_u64(len, kPlanMaxBytes, &n)) return bad("bad field length");
      lengths.push_back(n);
      sp = next;
    }
    for (uint64_t n : lengths) {
      if (text_.size() - pos_ < n + 1 || text_[pos_ + n] != '\n') {
        return bad("field runs past the end of the plan");
      }
      fields_.push_back(text_.substr(pos_, n));
      pos_ += n + 1;
    }
    if (records_ == 0 && key_ != "version") return error("the first record must be `version`");
    records_++;
    return apply();
  }

  bool want_fields(size_t n) {
    if (fields_.size() == n) return true;
    return bad("has " + std::to_string(fields_.size()) + " fields, expected " +
               std::to_string(n));
  }
  // Singletons: a second occurrence is an error.
  bool once(bool* seen) {
    if (*seen) return bad("appears twice");
    *seen = true;
    return true;
  }
  bool number(std::string_view s, uint64_t max, uint64_t* out, const char* what) {
    if (parse_u64(s, max, out)) return true;
    return bad(std::string("bad ") + what + " (a decimal up to " + std::to_string(max) + ")");
  }
  bool abs_path(std::string_view s, bool allow_root, std::string* out, const char* what) {
    if (!is_clean_absolute(s, allow_root)) {
      return bad(std::string(what) + " must be a clean absolute path");
    }
    *out = std::string(s);
    return true;
  }

  bool apply() {
    Plan& p = *plan_;
    const auto& f = fields_;
    uint64_t n = 0, m = 0;
    if (key_ == "version") {
      if (!want_fields(1) || !once(&seen_.version)) return false;
      return f[0] == "1" ? true : bad("unsupported version (this launcher reads 1)");
    }
    if (key_ == "report_path") {  // early, so that later errors still get their report
      if (!want_fields(1) || !once(&seen_.report_path)) return false;
      std::string path;
      if (!abs_path(f[0], false, &path, "report path")) return false;
      p.report_path = std::move(path);
      return true;
    }
    if (key_ == "hostname") {
      if (!want_fields(1) || !once(&seen_.hostname)) return false;
      if (f[0].empty() || f[0].size() > kHostNameMax) return bad("hostname must be 1-64 bytes");
      p.hostname = std::string(f[0]);
      return true;
    }
    if (key_ == "uid_range") {
      if (!want_fields(2) || !once(&seen_.uid_range)) return false;
      // Host uid 0 is root, and (uid_t)-1 means "no change" to set*id(2).
      if (!number(f[0], UINT32_MAX - 1, &n, "start") || !number(f[1], UINT32_MAX - 1, &m, "count"))
        return false;
      if (n == 0 || m == 0 || n + m - 1 > UINT32_MAX - 1) return bad("range must be within 1..2^32-2");
      p.uid_range_start = static_cast<uint32_t>(n);
      p.uid_range_count = static_cast<uint32_t>(m);
      return true;
    }
    if (key_ == "user") {
      if (!want_fields(4) || !once(&seen_.user)) return false;
      if (!number(f[0], UINT32_MAX - 1, &n, "uid") || !number(f[1], UINT32_MAX - 1, &m, "gid"))
        return false;
      if (f[2].empty()) return bad("empty user name");
      p.user.uid = static_cast<uid_t>(n);
      p.user.gid = static_cast<gid_t>(m);
      p.user.name = std::string(f[2]);
      return abs_path(f[3], true, &p.user.home, "home");
    }
    if (key_ == "root_tmpfs") {
      if (!want_fields(1) || !once(&seen_.root_tmpfs)) return false;
      if (!number(f[0], UINT64_MAX >> 1, &n, "size in bytes")) return false;
      if (n == 0) return bad("size must be > 0");
      p.root_tmpfs_bytes = n;
      return true;
    }
    if (key_ == "system_path") {
      if (!want_fields(1)) return false;
      std::string path;
      if (!abs_path(f[0], false, &path, "path")) return false;
      p.system_paths.push_back(std::move(path));
      return true;
    }
    if (key_ == "etc_file") {
      if (!want_fields(3)) return false;
      EtcFile file;
      if (!is_clean_relative(f[0])) return bad("name must be a clean relative path");
      if (!parse_mode(f[1], &file.mode)) return bad("bad mode (octal, up to 7777)");
      file.name = std::string(f[0]);
      file.content = std::string(f[2]);
      p.etc_files.push_back(std::move(file));
      return true;
    }
    if (key_ == "bind") {
      if (!want_fields(3)) return false;
      BindMount b;
      std::string_view how = f[0];
      b.optional = !how.empty() && how.back() == '?';
      if (b.optional) how.remove_suffix(1);
      if (how != "ro" && how != "rw") return bad("mode must be ro, rw, ro? or rw?");
      b.writable = how == "rw";
      if (!abs_path(f[1], true, &b.src, "src") || !abs_path(f[2], false, &b.dst, "dst"))
        return false;
      p.binds.push_back(std::move(b));
      return true;
    }
    if (key_ == "tmpfs") {
      if (!want_fields(4)) return false;
      TmpfsMount t;
      if (!abs_path(f[0], false, &t.dst, "dst")) return false;
      if (!number(f[1], UINT64_MAX >> 1, &t.bytes, "size in bytes")) return false;
      if (t.bytes == 0) return bad("size must be > 0");
      if (!parse_mode(f[2], &t.mode)) return bad("bad mode (octal, up to 7777)");
      if (f[3] != "root" && f[3] != "user") return bad("owner must be root or user");
      t.owned_by_user = f[3] == "user";
      p.tmpfs.push_back(std::move(t));
      return true;
    }
    if (key_ == "devpts_max") {
      if (!want_fields(1) || !once(&seen_.devpts_max)) return false;
      if (!number(f[0], 1 << 20, &n, "pty count")) return false;
      if (n == 0) return bad("must be > 0");
      p.devpts_max = static_cast<uint32_t>(n);
      return true;
    }
    if (key_ == "proc_mask" || key_ == "proc_readonly") {
      if (!want_fields(1)) return false;
      std::string path;
      if (!parse_proc_path(f[0], &path)) return bad("must be a clean path under /proc");
      (key_ == "proc_mask" ? p.proc_mask : p.proc_readonly).push_back(std::move(path));
      return true;
    }
    if (key_ == "rlimit") {
      if (!want_fields(3)) return false;
      Rlimit r{-1, nullptr, 0, 0};
      for (const RlimitName& known : kRlimitNames) {
        if (f[0] == known.name) r = {known.resource, known.name, 0, 0};
      }
      if (r.name == nullptr) return bad("unknown rlimit name");
      if (!parse_rlim(f[1], &r.soft) || !parse_rlim(f[2], &r.hard))
        return bad(std::string(r.name) + ": values are decimals or `unlimited`");
      if (r.soft > r.hard) return bad(std::string(r.name) + ": soft limit above hard limit");
      p.rlimits.push_back(r);
      return true;
    }
    if (key_ == "cgroup") {
      if (!want_fields(1)) return false;
      std::string dir;
      if (!abs_path(f[0], false, &dir, "dir")) return false;
      p.cgroups.push_back(std::move(dir));
      return true;
    }
    if (key_ == "network") {
      if (!want_fields(1) || !once(&seen_.network)) return false;
      return f[0] == "none" ? true : bad("only `none` is supported");
    }
    if (key_ == "seccomp") {
      if (!want_fields(1) || !once(&seen_.seccomp)) return false;
      p.seccomp_profile = std::string(f[0]);
      if (p.seccomp_profile == "none") {
        if (insecure_test_) return true;
        return bad(std::string("profile `none` needs ") + kInsecureTestEnvVar + "=1 (tests only)");
      }
      return p.seccomp_profile == "default" ? true : bad("unknown profile");
    }
    if (key_ == "seccomp_bpf") {
      if (!want_fields(1) || !once(&seen_.seccomp_bpf)) return false;
      if (parse_program(f[0], &p.seccomp_program)) return true;
      return bad("must be lowercase hex of 1 to " + std::to_string(BPF_MAXINSNS) + " struct sock_filter (" +
                 std::to_string(sizeof(sock_filter)) + " bytes each)");
    }
    if (key_ == "time_limit_ms") {
      if (!want_fields(1) || !once(&seen_.time_limit_ms)) return false;
      return number(f[0], kMaxMs, &p.time_limit_ms, "time limit in ms");
    }
    if (key_ == "cwd") {
      if (!want_fields(1) || !once(&seen_.cwd)) return false;
      return abs_path(f[0], true, &p.cwd, "cwd");
    }
    if (key_ == "env") {
      if (!want_fields(1)) return false;
      size_t eq = f[0].find('=');
      if (eq == 0 || eq == std::string_view::npos) return bad("must be K=V with a non-empty K");
      p.env.emplace_back(f[0]);
      return true;
    }
    if (key_ == "pty_end_marker") {
      if (!want_fields(1) || !once(&seen_.pty_end_marker)) return false;
      if (f[0].size() != 32 || !std::all_of(f[0].begin(), f[0].end(), [](char c) { return hex_digit(c) >= 0; }))
        return bad("must be 32 lowercase hex digits (a 128-bit nonce)");
      p.pty_end_nonce = std::string(f[0]);
      return true;
    }
    if (key_ == "argv") {
      if (!want_fields(1)) return false;
      if (p.argv.empty() && f[0].empty()) return bad("argv[0] is empty");
      p.argv.emplace_back(f[0]);
      return true;
    }
    return error("unknown record `" + key_ + "`");
  }

  bool check_required() {
    const std::pair<bool, const char*> required[] = {
        {seen_.hostname, "hostname"},     {seen_.uid_range, "uid_range"},
        {seen_.root_tmpfs, "root_tmpfs"}, {seen_.devpts_max, "devpts_max"},
        {seen_.network, "network"},       {seen_.seccomp, "seccomp"},
        {seen_.time_limit_ms, "time_limit_ms"}, {seen_.cwd, "cwd"},
        {!plan_->argv.empty(), "argv"},
    };
    if (records_ == 0) return error("empty plan");
    for (const auto& [present, name] : required) {
      if (!present) return error(std::string("missing record `") + name + "`");
    }
    // The program and the profile name come together, or not at all (`none`).
    if (plan_->seccomp_profile == "none" && seen_.seccomp_bpf) {
      return error("record `seccomp_bpf` with seccomp profile `none`");
    }
    if (plan_->seccomp_profile != "none" && !seen_.seccomp_bpf) {
      return error("missing record `seccomp_bpf`: the program of seccomp profile `" + plan_->seccomp_profile + "`");
    }
    return true;
  }

  std::string_view text_;
  bool insecure_test_;
  Plan* plan_;
  Failure* failure_;
  size_t pos_ = 0;
  size_t records_ = 0;
  std::string key_;
  std::vector<std::string_view> fields_;
  struct {
    bool version = false, report_path = false, hostname = false, uid_range = false,
         user = false, root_tmpfs = false, devpts_max = false, network = false,
         seccomp = false, seccomp_bpf = false, time_limit_ms = false, cwd = false,
         pty_end_marker = false;
  } seen_;
};

}  // namespace

bool parse_plan(std::string_view text, bool insecure_test, Plan* plan, Failure* failure) {
  return Decoder(text, insecure_test, plan, failure).run();
}

bool take_plan_from_env(std::string* text, Failure* failure) {
  char* value = getenv(kPlanEnvVar);
  if (value == nullptr) {
    return fail_msg(failure, Step::kPlan, std::string("missing: set ") + kPlanEnvVar);
  }
  size_t len = strlen(value);
  if (len > kPlanMaxBytes) {
    explicit_bzero(value, len);
    unsetenv(kPlanEnvVar);
    return fail_msg(failure, Step::kPlan, "plan is " + std::to_string(len) +
                                              " bytes, more than " + std::to_string(kPlanMaxBytes));
  }
  text->assign(value, len);
  explicit_bzero(value, len);
  unsetenv(kPlanEnvVar);
  return true;
}

}  // namespace sandgate::launcher
