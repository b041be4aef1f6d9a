#!/usr/bin/env bash
# Installs what ext4box builds and tests with, on Debian 12 as root: e2fsprogs (mkfs -d,
# debugfs, e2fsck), fuse3 + fuse2fs, attr/acl tools, fio, strace, seccomp, docker, a C
# toolchain for the native addon, python3 (fixture helpers), and Node 20+ (Debian 12 ships
# Node 18, so Node comes from nodejs.org, checksum-verified). Idempotent.
set -euo pipefail
log() { printf '[deps] %s\n' "$*" >&2; }

[ "$(id -u)" = 0 ] || { log "run as root"; exit 1; }
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  e2fsprogs fuse3 fuse2fs fio attr acl strace libseccomp-dev seccomp docker.io
  python3 make g++ util-linux kmod coreutils findutils procps
  ca-certificates curl xz-utils git
)

if command -v apt-get >/dev/null; then
  log "apt-get install ${PKGS[*]}"
  timeout 900 apt-get update -qq
  timeout 1800 apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
else
  log "no apt-get: assuming the packages are present"
fi

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 20 ]; then
  case "$(uname -m)" in
    x86_64) NARCH=x64 ;; aarch64) NARCH=arm64 ;; *) log "no Node build for $(uname -m)"; exit 1 ;;
  esac
  BASE=https://nodejs.org/dist/latest-v20.x
  TMPN=$(mktemp -d)
  trap 'rm -rf "$TMPN"' EXIT
  log "installing Node 20 from $BASE"
  timeout 300 curl -fsSL "$BASE/SHASUMS256.txt" -o "$TMPN/SHASUMS256.txt"
  TARBALL=$(grep -oE "node-v20\.[0-9.]+-linux-$NARCH\.tar\.xz" "$TMPN/SHASUMS256.txt" | head -1)
  [ -n "$TARBALL" ] || { log "no linux-$NARCH tarball listed"; exit 1; }
  timeout 900 curl -fsSL "$BASE/$TARBALL" -o "$TMPN/$TARBALL"
  (cd "$TMPN" && grep " $TARBALL\$" SHASUMS256.txt | sha256sum -c --quiet -)
  tar -xJf "$TMPN/$TARBALL" -C /usr/local --strip-components=1
  hash -r
  [ "$(node_major)" -ge 20 ] || { log "Node 20 install did not take"; exit 1; }
fi
log "node $(node -v)"
