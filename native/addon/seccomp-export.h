// Exporting a seccomp profile as bytes: shared by seccompFilter() and probe(), defined in addon.cc.
#pragma once

#include <string>

namespace sandgate {

enum class FilterFormat { kBpf, kPfc };

// Builds `profile` and writes it out: kBpf is the struct sock_filter array exactly as
// seccomp_load() hands it to the kernel; kPfc is libseccomp's pseudo filter code (text).
// libseccomp 2.5 exports only to a file descriptor, so this goes through a memfd.
// Returns false with *error set (a sentence naming the step and strerror) on failure.
bool export_seccomp_filter(const std::string& profile, FilterFormat format, std::string* out,
                           std::string* error);

}  // namespace sandgate
