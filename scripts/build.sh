#!/usr/bin/env bash
# Configures and builds into a build folder.
#   scripts/build.sh [BUILD_DIR] [extra cmake configure args...] [-- TARGET...]
# Without targets everything is built (executables, tests, the benchmark); after `--` only the
# named targets and what they link, e.g. `scripts/build.sh build -- registry peer`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true

configure_args=()
targets=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then
    shift
    targets=("$@")
    break
  fi
  configure_args+=("$1")
  shift
done

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${configure_args[@]}" >/dev/null
# cmake takes several names after one --target; none means the default target, all of it.
target_args=()
[ ${#targets[@]} -eq 0 ] || target_args=(--target "${targets[@]}")
cmake --build "$build" -j"$(nproc)" "${target_args[@]}"
