#!/usr/bin/env bash
# Brings a fresh Debian/Ubuntu machine (or an existing checkout) to the point where
# `npm start` and `npm test` work: system packages, node modules, the native build, the
# TypeScript build. Idempotent and incremental: each step runs only when something is
# missing or stale. Says clearly what it could not do.
set -euo pipefail

cd "$(dirname "$0")/.."
say() { printf 'sandgate setup: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[ "$(uname -s)" = Linux ] || die "sandgate needs Linux (namespaces, seccomp, cgroups); this is $(uname -s)."

# --- system packages --------------------------------------------------------------------
# build-essential/python3: node-gyp; libseccomp-dev: the seccomp filter; redis-server: the
# cluster quota store and its tests; bubblewrap: the spawn benchmark's baseline;
# iproute2: network diagnostics inside tests.
APT_PACKAGES=(build-essential python3 pkg-config libseccomp-dev redis-server bubblewrap iproute2 procps)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    die "missing system packages: ${missing[*]}. Run as root, or: sudo apt-get install -y ${missing[*]}"
  fi
  command -v apt-get >/dev/null || die "missing system packages (${missing[*]}) and no apt-get: install them by hand."
  say "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || die "apt-get install ${missing[*]} failed"
fi

# --- node modules -----------------------------------------------------------------------
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "Node.js >= 20 is required (found $(node -v))."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  say "installing node modules (npm ci)"
  npm ci --no-audit --no-fund >/dev/null || die "npm ci failed"
fi

# --- native build (addon, launcher, init) -------------------------------------------------
# node-gyp builds against Node's own headers (npm's `nodedir` on these machines); make is
# incremental, so an up-to-date tree costs a fraction of a second.
gyp=node_modules/.bin/node-gyp
# Outside `npm run`, npm's nodedir is not in the environment: without it node-gyp would try to
# download headers, which these machines cannot.
if [ -z "${npm_config_nodedir:-}" ]; then
  nd=$(npm config get nodedir 2>/dev/null || true)
  case "$nd" in ""|undefined|null) ;; *) export npm_config_nodedir="$nd" ;; esac
fi
if [ ! -f build/Makefile ] || [ binding.gyp -nt build/Makefile ]; then
  say "configuring the native build"
  "$gyp" configure >/dev/null 2>build-configure.log || { cat build-configure.log >&2; die "node-gyp configure failed"; }
  rm -f build-configure.log
fi
make -s -C build -j2 >/dev/null 2>build-native.log || { cat build-native.log >&2; die "native build failed"; }
rm -f build-native.log

# --- TypeScript -----------------------------------------------------------------------------
# A clean output tree each time (about 6 s): tsc never deletes the output of a removed source,
# and ava would go on running a stale compiled test.
rm -rf dist
node_modules/.bin/tsc -p tsconfig.json || die "TypeScript build failed"

if [ "$(id -u)" -ne 0 ]; then
  say "WARNING: not root. Sandboxes need root (user, pid, mount, net namespaces, cgroups): 'sandgate doctor' says what is missing."
fi
