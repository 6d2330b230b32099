// Builds the libseccomp filter of a profile from the tables in seccomp-default-profile.h.
// The launcher loads the result; the addon exports it (seccompFilter) so that tests inspect the
// very program the sandboxes run under. Policy and reasons: docs/seccomp.md.
#include "common/seccomp-policy.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "common/seccomp-default-profile.h"

namespace sandgate {
namespace {

namespace table = seccomp_default;

constexpr std::uint64_t kLow32 = 0xffffffffULL;

// The values v with (v & mask) == value: one ALLOW rule each.
struct MaskedValue {
  std::uint32_t mask;
  std::uint32_t value;
};

std::string hex(std::uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

std::uint32_t top_bits_mask(int count) {
  return count == 0 ? 0U : 0xffffffffU << (32 - count);
}

// Covers the 32-bit values outside `refused` with masked values, walking a binary trie of the
// refused values from the top bit: every branch that holds no refused value becomes one rule.
// libseccomp cannot give one syscall both an unconditional ALLOW and a conditional ERRNO equal
// to the default action (it rejects the second with EACCES, or silently drops it when the
// first is syscall-wide), so "ioctl except these commands" is written as this union.
void cover_complement(const std::vector<std::uint32_t>& refused, std::uint32_t prefix, int depth,
                      std::vector<MaskedValue>* out) {
  if (depth == 32) return;  // a refused value itself
  const int bit = 31 - depth;
  std::vector<std::uint32_t> halves[2];
  for (std::uint32_t value : refused) halves[(value >> bit) & 1U].push_back(value);
  for (std::uint32_t side = 0; side < 2; ++side) {
    const std::uint32_t child = prefix | (side << bit);
    if (halves[side].empty()) {
      out->push_back({top_bits_mask(depth + 1), child});
    } else {
      cover_complement(halves[side], child, depth + 1, out);
    }
  }
}

class RuleWriter {
 public:
  RuleWriter(scmp_filter_ctx ctx, std::string* error) : ctx_(ctx), error_(error) {}

  // The x86-64 number of `name`, or -1 with the error set.
  int resolve(const char* name) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr < 0) return fail(std::string("'") + name + "' is not an x86-64 syscall");
    return nr;
  }

  bool add(std::uint32_t action, const char* name, int nr, const std::vector<scmp_arg_cmp>& args,
           const std::string& condition) {
    const int rc = seccomp_rule_add_exact_array(ctx_, action, nr,
                                                static_cast<unsigned int>(args.size()),
                                                args.empty() ? nullptr : args.data());
    if (rc == 0) return true;
    fail("rule " + describe(action) + " " + name + condition + ": " + std::strerror(-rc));
    return false;
  }

  bool add(std::uint32_t action, const char* name, const std::vector<scmp_arg_cmp>& args = {},
           const std::string& condition = "") {
    const int nr = resolve(name);
    return nr >= 0 && add(action, name, nr, args, condition);
  }

  // Allows `name` when the low 32 bits of argument `arg` equal one of `values`.
  template <std::size_t N>
  bool allow_low32_in(const char* name, unsigned int arg, const std::uint32_t (&values)[N]) {
    for (std::uint32_t value : values) {
      const scmp_arg_cmp cmp = SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, kLow32, value);
      const std::string what = " (arg" + std::to_string(arg) + " & 0xffffffff == " + hex(value) + ")";
      if (!add(SCMP_ACT_ALLOW, name, {cmp}, what)) return false;
    }
    return true;
  }

  int fail(const std::string& message) {
    if (error_ != nullptr) *error_ = message;
    return -1;
  }

 private:
  static std::string describe(std::uint32_t action) {
    if (action == SCMP_ACT_ALLOW) return "allow";
    return "errno(" + std::to_string(action & 0xffffU) + ")";
  }

  scmp_filter_ctx ctx_;
  std::string* error_;
};

bool set_attributes(scmp_filter_ctx ctx, RuleWriter* writer) {
  struct Attribute {
    scmp_filter_attr attr;
    std::uint32_t value;
    const char* what;
  };
  const Attribute attributes[] = {
      // i386 (int 0x80) and any arch but x86-64: kill the whole process, not just the thread.
      // x32 (nr | 0x40000000) is x86-64's arch value: libseccomp adds the nr check itself.
      {SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS, "bad-arch action kill_process"},
      // The launcher sets no_new_privs itself, before loading (launcher-contract.md, process
      // structure); seccomp_load then fails with EACCES rather than set it behind its back.
      {SCMP_FLTATR_CTL_NNP, 0, "no_new_privs off"},
      // A binary tree over syscall numbers instead of a linear list: an allowed syscall costs
      // a dozen instructions instead of up to 300 comparisons (libseccomp >= 2.5).
      {SCMP_FLTATR_CTL_OPTIMIZE, 2, "optimize 2 (binary tree)"},
      // seccomp_load returns the kernel's errno, which the launcher prints.
      {SCMP_FLTATR_API_SYSRAWRC, 1, "raw return codes"},
  };
  for (const Attribute& a : attributes) {
    const int rc = seccomp_attr_set(ctx, a.attr, a.value);
    if (rc != 0) {
      writer->fail(std::string("attribute ") + a.what + ": " + std::strerror(-rc));
      return false;
    }
  }
  return true;
}

// Refuses a table edit that would allow a syscall that kRefused lists.
bool check_tables(RuleWriter* writer, const std::set<int>& allowed, const std::vector<int>& conditional) {
  for (const char* name : table::kRefused) {
    const int nr = writer->resolve(name);
    if (nr < 0) return false;
    bool clash = allowed.count(nr) != 0;
    for (int c : conditional) clash = clash || c == nr;
    if (clash) {
      writer->fail(std::string("'") + name + "' is both refused and allowed in the default profile");
      return false;
    }
  }
  return true;
}

bool add_default_rules(RuleWriter* writer) {
  std::set<int> allowed;
  for (const char* name : table::kAllowed) {
    const int nr = writer->resolve(name);
    if (nr < 0) return false;
    if (!allowed.insert(nr).second) {
      writer->fail(std::string("'") + name + "' is listed twice in the allow list");
      return false;
    }
    if (!writer->add(SCMP_ACT_ALLOW, name, nr, {}, "")) return false;
  }
  for (const table::NumberedSyscall& s : table::kAllowedByNumber) {
    const int known = seccomp_syscall_resolve_name(s.name);
    if (known >= 0 && known != s.number) {
      writer->fail(std::string("'") + s.name + "' is " + std::to_string(known) +
                   " for libseccomp but " + std::to_string(s.number) + " in the table");
      return false;
    }
    if (!allowed.insert(s.number).second) {
      writer->fail(std::string("'") + s.name + "' is listed twice in the allow list");
      return false;
    }
    if (!writer->add(SCMP_ACT_ALLOW, s.name, s.number, {}, "")) return false;
  }

  std::vector<int> conditional;
  for (const char* name : {"clone", "clone3", "personality", "socket", "socketpair", "ioctl"}) {
    const int nr = writer->resolve(name);
    if (nr < 0) return false;
    if (allowed.count(nr) != 0) {
      writer->fail(std::string("'") + name + "' must not be in the unconditional allow list");
      return false;
    }
    conditional.push_back(nr);
  }
  if (!check_tables(writer, allowed, conditional)) return false;

  // fork and threads, but no namespace: clone is allowed when no CLONE_NEW* flag is set.
  const scmp_arg_cmp no_new_ns = SCMP_A0(SCMP_CMP_MASKED_EQ, table::kCloneNewNamespaceMask, 0);
  if (!writer->add(SCMP_ACT_ALLOW, "clone", {no_new_ns},
                   " (arg0 & " + hex(table::kCloneNewNamespaceMask) + " == 0)")) {
    return false;
  }
  // clone3 passes its flags in memory, out of the filter's reach: ENOSYS makes glibc >= 2.34
  // fall back to clone (sysdeps/unix/sysv/linux/clone-internal.c), as in Docker.
  if (!writer->add(SCMP_ACT_ERRNO(ENOSYS), "clone3")) return false;

  if (!writer->allow_low32_in("personality", 0, table::kPersonalityAllowed)) return false;
  if (!writer->allow_low32_in("socket", 0, table::kSocketFamilies)) return false;
  if (!writer->allow_low32_in("socketpair", 0, table::kSocketpairFamilies)) return false;

  std::vector<std::uint32_t> refused(std::begin(table::kIoctlRefused), std::end(table::kIoctlRefused));
  std::vector<MaskedValue> cover;
  cover_complement(refused, 0, 0, &cover);
  for (const MaskedValue& m : cover) {
    const scmp_arg_cmp cmp = SCMP_A1(SCMP_CMP_MASKED_EQ, m.mask, m.value);
    if (!writer->add(SCMP_ACT_ALLOW, "ioctl", {cmp}, " (arg1 & " + hex(m.mask) + " == " + hex(m.value) + ")")) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool is_known_seccomp_profile(const std::string& profile) {
  return profile == "default";
}

scmp_filter_ctx build_seccomp_filter(const std::string& profile, std::string* error) {
  std::string local_error;
  if (error == nullptr) error = &local_error;
  if (!is_known_seccomp_profile(profile)) {
    *error = "unknown profile '" + profile + "' (known: default)";
    return nullptr;
  }
  if (seccomp_arch_native() != SCMP_ARCH_X86_64) {
    *error = "the default profile is written for x86-64 only";
    return nullptr;
  }
  // The default action: EPERM for every syscall not allowed below, as in Docker's profile.
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if (ctx == nullptr) {
    *error = "seccomp_init failed (out of memory)";
    return nullptr;
  }
  RuleWriter writer(ctx, error);
  if (!set_attributes(ctx, &writer) || !add_default_rules(&writer)) {
    seccomp_release(ctx);
    return nullptr;
  }
  return ctx;
}

}  // namespace sandgate
