#!/usr/bin/env bash
# Fuzzes a frame-body decoder with libFuzzer (clang, ASan + UBSan) for SECONDS (default 60).
#   scripts/fuzz.sh [SECONDS] [decode|p2p]
# `decode` (the default) is the peer <-> registry decoder, `p2p` the peer-to-peer one (the
# private-chat handshake). The fuzzer starts from a scratch copy of tests/fuzz/corpus/TARGET, so
# the committed corpus does not grow; a crashing input is saved under tests/fuzz/findings/ and the script exits non-zero.
# To keep a finding as a regression test, fix the bug, then copy the input into the corpus.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
target=${2:-decode}
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ] || ! [[ $target =~ ^(decode|p2p)$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [decode|p2p]   (SECONDS a whole number > 0, default 60)" >&2
  exit 2
fi

source "$root/scripts/deps.sh"
# libFuzzer and the sanitizer runtimes come with clang's compiler-rt.
command -v clang++ >/dev/null || parley_install_missing clang
parley_install_missing libclang-rt-14-dev

build=$root/build-fuzz
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPARLEY_FUZZ=ON -DPARLEY_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target "parley_fuzz_$target"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp "$root"/tests/fuzz/corpus/"$target"/* "$scratch/"
findings=$root/tests/fuzz/findings
mkdir -p "$findings"

echo "Fuzzing the $target decoder for ${seconds}s (corpus copy in $scratch)" >&2
"$build/parley_fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 \
  -artifact_prefix="$findings/" "$scratch"
