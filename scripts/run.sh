#!/usr/bin/env bash
# Sets up and runs Parley.
#   scripts/run.sh                     install what is missing, build, start the registry on port 3331
#                                      with the bundled data/credentials.txt (block 60 s, timeout 600 s)
#   scripts/run.sh registry ARGS...    the same with your own registry arguments
#   scripts/run.sh peer 3331 [ARGS]    start a peer against the registry on port 3331
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source "$root/scripts/deps.sh"
# Only the two executables and their libraries: the tests and the benchmark are most of a full
# build, and a first run should not wait for them.
"$root/scripts/build.sh" "$root/build" -- registry peer >&2

what=${1:-registry}
[ $# -gt 0 ] && shift
case "$what" in
  registry)
    cd "$root"
    if [ $# -eq 0 ]; then set -- 3331 60 600; fi
    exec "$root/build/registry" "$@"
    ;;
  peer)
    exec "$root/build/peer" "$@"
    ;;
  *)
    echo "Usage: scripts/run.sh [registry [ARGS...] | peer <server_port> [ARGS...]]" >&2
    exit 2
    ;;
esac
