#!/usr/bin/env bash
# Builds a local base image FROM scratch holding this machine's node binary and exactly the
# shared libraries ldd lists for it and for the native addon (libseccomp), for machines that
# cannot pull the official node image. Then: docker build --build-arg BASE=<tag> --target runtime-local .
# Usage: scripts/build-base-image.sh [tag]   (default ext4box-base:local; skipped when the tag
# already exists with the same content hash label)
set -euo pipefail
cd "$(dirname "$0")/.."
TAG=${1:-ext4box-base:local}
NODE=$(readlink -f "$(command -v node)")
ADDON=build/Release/ext4box_native.node

files() {
  echo "$NODE"
  for f in "$NODE" ${ADDON:+$( [ -f "$ADDON" ] && echo "$ADDON")}; do
    ldd "$f" | awk '/=>/ { print $3 } !/=>/ && $1 ~ /^\// { print $1 }'
  done
}
LIST=$(files | sort -u | grep '^/')
HASH=$( (echo "$LIST"; for f in $LIST; do sha256sum "$(readlink -f "$f")"; done) | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{ index .Config.Labels "ext4box.base.hash" }}' "$TAG" 2>/dev/null || true)" = "$HASH" ]; then
  echo "$TAG up to date ($HASH)" >&2
  exit 0
fi

CTX=$(mktemp -d)
trap 'rm -rf "$CTX"' EXIT
mkdir -p "$CTX/rootfs/tmp" "$CTX/rootfs/etc"
for f in $LIST; do
  # Keep the path ldd printed (the loader looks there) and copy the real bytes behind links.
  mkdir -p "$CTX/rootfs$(dirname "$f")"
  cp -L "$f" "$CTX/rootfs$f"
done
mkdir -p "$CTX/rootfs/usr/local/bin"
[ -e "$CTX/rootfs/usr/local/bin/node" ] || ln -s "$NODE" "$CTX/rootfs/usr/local/bin/node"
echo 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' > "$CTX/rootfs/etc/passwd"
echo 'nogroup:x:65534:' > "$CTX/rootfs/etc/group"
cat > "$CTX/Dockerfile" <<DF
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
LABEL ext4box.base.hash=$HASH
DF
docker build -q -t "$TAG" "$CTX" >&2
echo "built $TAG ($HASH)" >&2
