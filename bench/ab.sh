#!/usr/bin/env bash
# Two registry builds side by side: the same parley-bench workloads against each, their runs
# interleaved (A, B, A, B, ...) so that drift of a shared, noisy machine hits both alike. Prints
# each run's line, then per workload the medians and the ratio B/A.
#   bench/ab.sh A_REGISTRY B_REGISTRY [REPS] [PARLEY_BENCH]
# e.g. a build of the previous commit against this one:
#   git worktree add /tmp/base HEAD~1 && scripts/build.sh /tmp/base/build -- registry
#   bench/ab.sh /tmp/base/build/registry build/registry 5
# Workloads: direct W=16, direct W=4, broadcast, latency (rates and p50), and idle (KiB per
# logged-in client, 2,000 clients). Server on core 0, generator on core 1, as bench/compare.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -lt 2 ]; then
  echo "usage: bench/ab.sh A_REGISTRY B_REGISTRY [REPS] [PARLEY_BENCH]" >&2
  exit 2
fi
a=$1
b=$2
reps=${3:-3}
bench=${4:-$root/build/parley-bench}
for binary in "$a" "$b" "$bench"; do
  [ -x "$binary" ] || { echo "ab.sh: $binary is not an executable" >&2; exit 2; }
done
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "ab.sh: REPS must be a whole number > 0" >&2; exit 2; }

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
: >"$work/none.txt"
idle_clients=2000
for ((i = 0; i < idle_clients; ++i)); do echo "b$i benchpw"; done >"$work/idle.txt"

source "$root/bench/lib.sh"

# run_once REGISTRY CREDENTIALS BENCH_ARGS...: one registry, one parley-bench run, its line.
run_once() {
  local registry=$1 credentials=$2 port
  shift 2
  port=$(free_port)
  # Every client connects from 127.0.0.1: the per-address cap is off where the build has one.
  local guards=()
  "$registry" --help | grep -q -- --max-per-address && guards=(--max-per-address 0)
  # The same for the sign-up budget and the hash queue's bounds (benchmark users are made by
  # their first login, hundreds at once).
  "$registry" --help | grep -q -- --signups &&
    guards+=(--signups 0 --hash-queue 0 --hash-queue-per-address 0)
  taskset -c 0 "$registry" "$port" 60 600 --db :memory: --hash-cost test \
    --credentials "$credentials" --log-level warn "${guards[@]}" >"$work/registry.log" 2>&1 &
  server_pid=$!
  local tries=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    tries=$((tries + 1))
    if [ $tries -gt 100 ] || ! kill -0 "$server_pid" 2>/dev/null; then
      echo "ab.sh: $registry did not start" >&2
      exit 1
    fi
    sleep 0.1
  done
  timeout 400 taskset -c 1 "$bench" --port "$port" --pid "$server_pid" "$@" 2>/dev/null | tail -n 1
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

workloads=(
  "direct-w16|none|--workload direct --users 1000 --inflight 16 --duration 5 --warmup 2"
  "direct-w4|none|--workload direct --users 1000 --inflight 4 --duration 5 --warmup 2"
  "broadcast|none|--workload broadcast --users 1000 --duration 5 --warmup 2"
  "latency|none|--workload latency --duration 5 --warmup 2"
  "idle|idle|--workload idle --users $idle_clients"
)
results=$work/results.txt
for entry in "${workloads[@]}"; do
  IFS='|' read -r label credentials args <<<"$entry"
  for ((run = 1; run <= reps; ++run)); do
    for side in A B; do
      registry=$a
      [ "$side" = B ] && registry=$b
      # shellcheck disable=SC2086  # the workload's arguments are words on purpose
      line=$(run_once "$registry" "$work/$credentials.txt" $args)
      echo "side=$side label=$label run=$run $line" | tee -a "$results"
    done
  done
done

# The figure each workload is judged by, its median per side, and B/A.
awk '
function field(name,   i, kv) {
  for (i = 1; i <= NF; ++i) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
  return ""
}
function median(list, n,   sorted, i, j, t) {
  for (i = 1; i <= n; ++i) sorted[i] = list[i]
  for (i = 1; i <= n; ++i) for (j = i + 1; j <= n; ++j) if (sorted[j] < sorted[i]) { t = sorted[i]; sorted[i] = sorted[j]; sorted[j] = t }
  return n % 2 ? sorted[(n + 1) / 2] : (sorted[n / 2] + sorted[n / 2 + 1]) / 2
}
{
  label = field("label"); side = field("side")
  if (label == "idle") { metric[label] = "KiB/client"; v = field("rss_per_client_kib") }
  else if (label == "latency") { metric[label] = "p50 us"; v = field("p50_us") }
  else { metric[label] = "rate/s"; v = field("rate_per_s") }
  if (v == "") next
  key = label SUBSEP side
  values[key, ++count[key]] = v
  if (!(label in seen)) { seen[label] = 1; order[++labels] = label }
}
END {
  printf "\n| workload | figure | A median | B median | B/A |\n|---|---|---|---|---|\n"
  for (k = 1; k <= labels; ++k) {
    label = order[k]
    for (s = 1; s <= 2; ++s) {
      side = s == 1 ? "A" : "B"; key = label SUBSEP side; n = count[key]
      for (i = 1; i <= n; ++i) list[i] = values[key, i]
      m[side] = n ? median(list, n) : 0
    }
    printf "| %s | %s | %.2f | %.2f | %.3f |\n", label, metric[label], m["A"], m["B"], m["A"] ? m["B"] / m["A"] : 0
  }
}' "$results"
