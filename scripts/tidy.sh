#!/usr/bin/env bash
# Runs clang-tidy, with the checks in the committed .clang-tidy, over every translation unit under
# registry/ peer/ shared/ tests/ bench/, and fails if any check fires.
#   scripts/tidy.sh [BUILD_DIR]   the compile_commands.json of BUILD_DIR (default build/), which is
#                                 configured first if it has none
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}

source "$root/scripts/deps.sh"
# Debian 12's clang-tidy is 14; the check list in .clang-tidy is written for it.
command -v clang-tidy >/dev/null || parley_install_missing clang-tidy

# Configuring is enough: clang-tidy needs the compile commands, not the objects.
if [ ! -f "$build/compile_commands.json" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi

# CMake writes each "file" as an absolute path; only the project's own sources are checked.
mapfile -t sources < <(grep -o '"file": "[^"]*"' "$build/compile_commands.json" |
  sed 's/^"file": "//; s/"$//' | grep -E "^$root/(registry|peer|shared|tests|bench)/" | sort -u)
echo "clang-tidy over ${#sources[@]} files, $(nproc) at a time" >&2

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# One clang-tidy per file, as many at once as there are cores; every finding is an error so that
# the exit status says whether anything fired.
status=0
printf '%s\0' "${sources[@]}" |
  xargs -0 -n 1 -P "$(nproc)" clang-tidy -p "$build" --quiet --warnings-as-errors='*' \
    >"$log" 2>&1 || status=$?
# clang-tidy also counts the warnings it suppressed in system headers: noise here.
grep -Ev '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "$log" || true
if [ "$status" -ne 0 ]; then
  echo "clang-tidy found something (above); see .clang-tidy for the checks" >&2
  exit 1
fi
echo "clang-tidy: no findings"
