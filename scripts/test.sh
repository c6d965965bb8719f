#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit, end-to-end, fuzz corpus replay) with ctest.
#   scripts/test.sh              the normal build, in build/
#   scripts/test.sh --sanitize   the same suite built with ASan + UBSan, in build-sanitize/
#   scripts/test.sh --werror     the normal build with warnings as errors (what CI runs), in build/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/deps.sh"

build=$root/build
sanitize=OFF
werror=OFF
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=ON ;;
    --werror) werror=ON ;;
    *)
      echo "usage: scripts/test.sh [--sanitize] [--werror]" >&2
      exit 2
      ;;
  esac
done
if [ "$sanitize" = ON ]; then
  build=$root/build-sanitize
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

# Both options are passed every time, so the folder builds what this command asks for and not
# what an earlier configure left in its cache.
"$root/scripts/build.sh" "$build" -DPARLEY_SANITIZE="$sanitize" -DPARLEY_WERROR="$werror"
cd "$build"
ctest --output-on-failure -j2 --timeout 300
