#!/usr/bin/env bash
# The main job on a sample image the project builds itself: installs dependencies, builds
# ext4box, makes a small ext4 image with `mkfs.ext4 -d`, then inspects it, lists it and
# reads a file from it with the ext4box CLI — no kernel mount, no privileges needed for
# the CLI itself. Run as root on a fresh Debian 12 machine: `bash scripts/demo.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${EXT4BOX_SKIP_DEPS:-0}" != 1 ]; then
  bash scripts/install-deps.sh
  hash -r
fi
timeout 1200 npm ci --no-audit --no-fund
timeout 1200 npm run build

WORK=$(mktemp -d /tmp/ext4box-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/tree/docs" "$WORK/tree/bin"
printf 'hello from ext4box\n' > "$WORK/tree/hello.txt"
printf 'A sample image built by scripts/demo.sh.\n' > "$WORK/tree/docs/README"
head -c 200000 /dev/urandom > "$WORK/tree/bin/random.bin"
ln -s ../hello.txt "$WORK/tree/docs/hello-link"
setfattr -n user.demo -v ext4box "$WORK/tree/hello.txt" 2>/dev/null || true

IMG="$WORK/sample.img"
E2FSPROGS_FAKE_TIME=1700000000 mkfs.ext4 -q -F -L ext4box-demo -d "$WORK/tree" "$IMG" 16M
echo "== sample image: $IMG"

CLI=(node dist/daemon/cli/main.js)
echo "== ext4box inspect"
"${CLI[@]}" inspect "$IMG"
echo "== ext4box ls -l /"
"${CLI[@]}" ls -l "$IMG" /
echo "== ext4box cat /hello.txt"
"${CLI[@]}" cat "$IMG" /hello.txt

# The main job: mount the same image through ext4box (helper + confined server, the default
# sandbox: docker when an engine answers, else bare namespaces) and read it like any directory.
MNT="$WORK/mnt"
mkdir -p "$MNT"
trap '"${CLI[@]}" umount "$MNT" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
echo "== ext4box mount $IMG $MNT"
"${CLI[@]}" mount -o ro "$IMG" "$MNT"
grep " $MNT " /proc/mounts
echo "== ls -l $MNT (through the kernel's FUSE client)"
ls -l "$MNT" "$MNT/docs"
echo "== cat $MNT/docs/hello-link"
cat "$MNT/docs/hello-link"
echo "== getfattr -d $MNT/hello.txt"
getfattr -d "$MNT/hello.txt" 2>/dev/null || true
echo "== ext4box ps"
"${CLI[@]}" ps
echo "== ext4box umount $MNT"
"${CLI[@]}" umount "$MNT"
