#!/bin/sh
# Long mutation-fuzz runs: builds, then runs the fuzzer CLI (one worker process at a time).
#   scripts/fuzz.sh --cases 30000 --seed 777 [--image ext4-4k|all] [--from I] [--no-save]
# Crashes, hangs and memory blow-ups are appended to test/hostile/regressions.json.
set -e
cd "$(dirname "$0")/.."
npm run build >/dev/null || echo "fuzz.sh: the build reported type errors; running the emitted JavaScript anyway" >&2
exec node dist/test/hostile/fuzz-cli.js "$@"
