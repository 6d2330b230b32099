{
  # One build for all native code (see docs/internals/launcher-contract.md):
  #  - sandgate_native: the node-addon-api addon (probe; the seccomp filter the launcher loads)
  #  - sandgate-launcher: the sandbox launcher executable
  #  - sandgate-init: the tiny PID 1 exec'd inside the sandbox (static)
  "target_defaults": {
    "cflags": ["-Wall", "-Wextra", "-Werror", "-O2", "-fno-strict-aliasing"],
    "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-O2"],
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"]
  },
  "targets": [
    {
      "target_name": "sandgate_native",
      "sources": [
        "native/addon/addon.cc",
        "native/addon/probe.cc",
        "native/common/seccomp-policy.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "native"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "libraries": ["-lseccomp"]
    },
    {
      "target_name": "sandgate-launcher",
      "type": "executable",
      "sources": [
        "native/launcher/main.cc",
        "native/launcher/plan.cc",
        "native/launcher/supervisor.cc",
        "native/launcher/clone-child.cc",
        "native/launcher/userns.cc",
        "native/launcher/uid-lease.cc",
        "native/launcher/mounts.cc",
        "native/launcher/proc-dev.cc",
        "native/launcher/net-uts.cc",
        "native/launcher/rlimits.cc",
        "native/launcher/cgroup-join.cc",
        "native/launcher/caps.cc",
        "native/launcher/fds-env.cc",
        "native/launcher/seccomp-load.cc",
        "native/launcher/report.cc",
        "native/launcher/pty-end.cc",
        "native/launcher/fail.cc"
      ],
      "include_dirs": ["native"],
      # Static: the dynamic loader's work for libstdc++, libm and libgcc_s cost about 0.7 ms
      # of every spawn here (measured 1.42 -> 0.76 ms before main). No libseccomp: the
      # caller hands over the compiled filter (native/launcher/seccomp-load.h).
      "ldflags": ["-static"]
    },
    {
      "target_name": "sandgate-init",
      "type": "executable",
      "sources": ["native/init/sandgate-init.c"],
      "ldflags": ["-static"]
    }
  ]
}
