// The seccomp policy, built with libseccomp. One definition, linked into both the launcher
// (which loads it) and the addon (which exports it for inspection), so tests check exactly
// the filter that sandboxes run under. See docs/seccomp.md.
#pragma once

#include <seccomp.h>

#include <string>

namespace sandgate {

// Known profile names; "default" is the only one a plan may ask for in production.
bool is_known_seccomp_profile(const std::string& profile);

// Builds the filter for `profile`. On failure returns nullptr and sets *error to a sentence
// that names the failing rule and strerror of libseccomp's negative errno.
// The caller owns the context (seccomp_release).
scmp_filter_ctx build_seccomp_filter(const std::string& profile, std::string* error);

}  // namespace sandgate
