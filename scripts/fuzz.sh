#!/usr/bin/env bash
# Fuzzes one target with libFuzzer (clang, ASan + UBSan) for SECONDS (default 60), in one process.
#   scripts/fuzz.sh [SECONDS] [decode|p2p|loader|core|config]
# `decode` (the default) is the peer <-> registry decoder, `p2p` the peer-to-peer one (the
# private-chat handshake), `loader` the registry's start-up read of its database file (any bytes
# as the file; SPEC 9), `core` the registry core's state machine (a script of connections,
# messages, hash answers, disconnects, time and ticks; tests/fuzz/core_driver.hpp), `config` the
# peer's peer.toml. The fuzzer
# starts from a scratch copy of tests/fuzz/corpus/TARGET, so the committed corpus does not grow; a
# crashing input is saved under tests/fuzz/findings/TARGET/ and the script exits non-zero. Once
# the bug is fixed, keep the input there: ctest replays findings/TARGET with the corpus.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
target=${2:-decode}
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ] || ! [[ $target =~ ^(decode|p2p|loader|core|config)$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [decode|p2p|loader|core|config]   (SECONDS a whole number > 0, default 60)" >&2
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
findings=$root/tests/fuzz/findings/$target
mkdir -p "$findings"

# A database file of the loader's corpus is tens of KiB; libFuzzer would otherwise cap inputs at
# the largest seed's size. One input that takes over 10 s is a finding too (a hang).
extra=()
[ "$target" != loader ] || extra=(-max_len=65536)
echo "Fuzzing $target for ${seconds}s (corpus copy in $scratch)" >&2
"$build/parley_fuzz_$target" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
  "${extra[@]}" -artifact_prefix="$findings/" "$scratch"
