#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit, end-to-end, fuzz corpus replay) with ctest.
#   scripts/test.sh              the normal build, in build/
#   scripts/test.sh --sanitize   the same suite built with ASan + UBSan, in build-sanitize/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/deps.sh"

build=$root/build
cmake_args=()
if [ "${1:-}" = "--sanitize" ]; then
  build=$root/build-sanitize
  cmake_args+=(-DPARLEY_SANITIZE=ON)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

"$root/scripts/build.sh" "$build" "${cmake_args[@]}"
cd "$build"
ctest --output-on-failure -j2 --timeout 300
