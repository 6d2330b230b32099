// The sandgate_native addon: probe() and seccompFilter(), typed once in
// server/sandbox/native-addon.ts and specified in docs/internals/launcher-contract.md ("Addon").
// Arguments are checked here as well as in TypeScript: a bad one throws a TypeError that names
// the function, the argument and what it got.
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "addon/probe.h"
#include "addon/seccomp-export.h"
#include "common/seccomp-policy.h"

namespace sandgate {

bool export_seccomp_filter(const std::string& profile, FilterFormat format, std::string* out,
                           std::string* error) {
  scmp_filter_ctx ctx = build_seccomp_filter(profile, error);
  if (ctx == nullptr) return false;
  const int fd = memfd_create("sandgate-seccomp", MFD_CLOEXEC);
  if (fd < 0) {
    *error = std::string("exporting the filter: memfd_create: ") + std::strerror(errno);
    seccomp_release(ctx);
    return false;
  }
  const int rc = format == FilterFormat::kBpf ? seccomp_export_bpf(ctx, fd) : seccomp_export_pfc(ctx, fd);
  seccomp_release(ctx);
  bool ok = rc == 0;
  if (!ok) *error = std::string("exporting the filter: ") + std::strerror(-rc);
  out->clear();
  if (ok && lseek(fd, 0, SEEK_SET) != 0) {
    *error = std::string("exporting the filter: lseek: ") + std::strerror(errno);
    ok = false;
  }
  char buffer[16384];
  while (ok) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = std::string("exporting the filter: read: ") + std::strerror(errno);
      ok = false;
    }
    if (n <= 0) break;
    out->append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  return ok;
}

namespace {

constexpr double kMaxUid = 4294967294.0;  // (uid_t)-1 means "no change" to the kernel

std::string describe(const Napi::Value& value) {
  if (value.IsString()) return "'" + value.As<Napi::String>().Utf8Value() + "'";
  if (value.IsNumber()) return value.ToString().Utf8Value();
  if (value.IsUndefined()) return "undefined";
  if (value.IsNull()) return "null";
  if (value.IsBoolean()) return value.As<Napi::Boolean>().Value() ? "true" : "false";
  return value.IsObject() ? "an object" : "a value of another type";
}

double uid_field(const Napi::Object& options, const char* key, double min, double max) {
  const Napi::Value value = options.Get(key);
  const double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : NAN;
  if (!std::isfinite(number) || std::trunc(number) != number || number < min || number > max) {
    throw Napi::TypeError::New(options.Env(), std::string("probe: options.") + key + " must be an integer in [" +
                                                  std::to_string(static_cast<std::uint64_t>(min)) + ", " +
                                                  std::to_string(static_cast<std::uint64_t>(max)) + "], got " +
                                                  describe(value));
  }
  return number;
}

Napi::Value Probe(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsObject() || info[0].IsArray() || info[0].IsFunction()) {
    throw Napi::TypeError::New(env, "probe: expected one argument { uidRangeStart, uidRangeCount }");
  }
  const Napi::Object options = info[0].As<Napi::Object>();
  const double start = uid_field(options, "uidRangeStart", 0, kMaxUid);
  const double count = uid_field(options, "uidRangeCount", 1, kMaxUid + 1 - start);

  const probe::HostReport report =
      probe::probe_host(static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(count));

  const auto strings = [&env](const std::vector<std::string>& items) {
    Napi::Array array = Napi::Array::New(env, items.size());
    for (std::size_t i = 0; i < items.size(); ++i) array.Set(static_cast<uint32_t>(i), items[i]);
    return array;
  };
  Napi::Object result = Napi::Object::New(env);
  result.Set("kernel", report.kernel);

  Napi::Object namespaces = Napi::Object::New(env);
  for (const probe::NamespaceResult& ns : report.namespaces) {
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("ok", ns.ok);
    if (!ns.ok) entry.Set("error", ns.error);
    namespaces.Set(ns.name, entry);
  }
  result.Set("namespaces", namespaces);

  Napi::Object seccomp = Napi::Object::New(env);
  seccomp.Set("ok", report.seccomp.ok);
  seccomp.Set("actions", strings(report.seccomp.actions));
  seccomp.Set("libseccomp", report.seccomp.libseccomp);
  if (!report.seccomp.ok) seccomp.Set("error", report.seccomp.error);
  result.Set("seccomp", seccomp);

  Napi::Object cgroup = Napi::Object::New(env);
  cgroup.Set("version", report.cgroup.version);
  cgroup.Set("controllers", strings(report.cgroup.controllers));
  Napi::Array hierarchies = Napi::Array::New(env, report.cgroup.hierarchies.size());
  for (std::size_t i = 0; i < report.cgroup.hierarchies.size(); ++i) {
    const probe::CgroupHierarchy& h = report.cgroup.hierarchies[i];
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("controllers", strings(h.controllers));
    entry.Set("mountPoint", h.mount_point);
    entry.Set("ownPath", h.own_path);
    hierarchies.Set(static_cast<uint32_t>(i), entry);
  }
  cgroup.Set("hierarchies", hierarchies);
  result.Set("cgroup", cgroup);

  Napi::Object uid_range = Napi::Object::New(env);
  uid_range.Set("start", report.uid_range.start);
  uid_range.Set("count", report.uid_range.count);
  Napi::Array conflicts = Napi::Array::New(env, report.uid_range.conflicts.size());
  for (std::size_t i = 0; i < report.uid_range.conflicts.size(); ++i) {
    conflicts.Set(static_cast<uint32_t>(i), report.uid_range.conflicts[i]);
  }
  uid_range.Set("conflicts", conflicts);
  result.Set("uidRange", uid_range);

  result.Set("root", report.root);
  return result;
}

Napi::Value SeccompFilter(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() != 2) throw Napi::TypeError::New(env, "seccompFilter: expected (profile, format)");
  if (!info[0].IsString() || !is_known_seccomp_profile(info[0].As<Napi::String>().Utf8Value())) {
    throw Napi::TypeError::New(env, "seccompFilter: profile must be 'default', got " + describe(info[0]));
  }
  const std::string format = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : "";
  if (format != "bpf" && format != "pfc") {
    throw Napi::TypeError::New(env, "seccompFilter: format must be 'bpf' or 'pfc', got " + describe(info[1]));
  }
  std::string out, error;
  if (!export_seccomp_filter(info[0].As<Napi::String>().Utf8Value(),
                             format == "bpf" ? FilterFormat::kBpf : FilterFormat::kPfc, &out, &error)) {
    throw Napi::Error::New(env, "seccompFilter: " + error);
  }
  if (format == "pfc") return Napi::String::New(env, out);
  return Napi::Buffer<std::uint8_t>::Copy(env, reinterpret_cast<const std::uint8_t*>(out.data()), out.size());
}

// Sets FD_CLOEXEC on `fd`. node-pty opens PTY masters without it, so every child started
// after a session (each launcher included) would inherit every session's master until its
// exec: a master held elsewhere never hangs up its terminal.
Napi::Value CloseOnExec(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "closeOnExec: expected (fd)");
  const double value = info[0].As<Napi::Number>().DoubleValue();
  if (!(value >= 0 && value <= 2147483647.0) || std::floor(value) != value) {
    throw Napi::TypeError::New(env, "closeOnExec: fd must be a non-negative integer, got " + describe(info[0]));
  }
  const int fd = static_cast<int>(value);
  const int flags = fcntl(fd, F_GETFD);
  if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
    throw Napi::Error::New(env, std::string("closeOnExec: fcntl(") + std::to_string(fd) + "): " + std::strerror(errno));
  }
  return env.Undefined();
}

}  // namespace
}  // namespace sandgate

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New(env, sandgate::Probe, "probe"));
  exports.Set("seccompFilter", Napi::Function::New(env, sandgate::SeccompFilter, "seccompFilter"));
  exports.Set("closeOnExec", Napi::Function::New(env, sandgate::CloseOnExec, "closeOnExec"));
  return exports;
}

NODE_API_MODULE(sandgate_native, Init)
