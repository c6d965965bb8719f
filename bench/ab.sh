#!/usr/bin/env bash
# Two registry builds side by side: the same parley-bench workloads against each, their runs
# interleaved (A, B, A, B, ...) so that drift of a shared, noisy machine hits both alike. Prints
# each run's line, then per workload the medians and the ratio B/A.
#   bench/ab.sh A_REGISTRY B_REGISTRY [REPS] [PARLEY_BENCH]
# e.g. a build of the previous commit against this one:
#   git worktree add /tmp/base HEAD~1 && scripts/build.sh /tmp/base/build -- registry
#   bench/ab.sh /tmp/base/build/registry build/registry 5
# Workloads (AB_WORKLOADS, space-separated, picks some; default: the first five):
#   direct-w16, direct-w4, broadcast, latency   rates and p50
#   idle        KiB per logged-in client, 2,000 clients
#   logins-10k  10,000 clients logging in with presence (SPEC 7): seconds to the last welcome
#               (connect_s) and to the last presence notice read (settled_s)
#   offline     acknowledged offline DMs/s with the database on disk (synchronous=FULL), and the
#               p99 of two other users' DMs meanwhile; the database goes in AB_DB_DIR (default
#               /var/tmp), which must not be a tmpfs
#   hangup      a hang-up login flood from 127.0.0.2 at the default hash cost, and the login time
#               of a user on 127.0.0.1 meanwhile
#   storm-10k   10,000 logins in 8 s (1,250 a second, each a new connection and, the first time,
#               a new account; then a logout), and the p99 of two users chatting meanwhile
#   private     500 private chats, W=16, both peers played by the generator (its rate is the
#               generator's: compare generators with AB_BENCH_A, e.g. sealed against unsealed)
# AB_TLS: the sides whose registry link is TLS (A, B or AB; default none: every registry runs
# --no-tls and parley-bench speaks plain). AB_TLS=B with the same build on both sides measures
# what TLS costs: bench/ab.sh build/registry build/registry 5.
# AB_BENCH_A: A's own parley-bench, for a build from before a protocol change (the default is
# PARLEY_BENCH, build/parley-bench, for both). Server on core 0, generator on core 1, as
# bench/compare.sh; but for `offline` the registry may use both cores (the generator is still on
# core 1): its store worker is a thread of its own, meant to commit on another core than the
# network thread's, and the generator needs under a tenth of its core there. Every registry gets --db :memory:
# --hash-cost test unless the workload says otherwise.
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
# A's own generator, when A speaks an older protocol than B (a build from before a protocol
# change): AB_BENCH_A=/path/to/its/parley-bench.
bench_a=${AB_BENCH_A:-$bench}
for binary in "$a" "$b" "$bench" "$bench_a"; do
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
for ((i = 0; i < 10000; ++i)); do echo "b$i benchpw"; done >"$work/idle10k.txt"
db_dir=${AB_DB_DIR:-/var/tmp}

source "$root/bench/lib.sh"

# run_once BENCH REGISTRY CREDENTIALS REGISTRY_ARGS BENCH_ARGS...: one registry, one BENCH run,
# its line. REGISTRY_ARGS is one word list; @DB@ in it becomes a fresh database file in db_dir.
run_once() {
  local generator=$1 registry=$2 credentials=$3 registry_args=$4 port db=""
  shift 4
  port=$(free_port)
  if [[ $registry_args == *@DB@* ]]; then
    db=$(mktemp "$db_dir/parley-ab.XXXXXX.db")
    rm -f "$db"
    registry_args=${registry_args//@DB@/$db}
  fi
  # Every client connects from 127.0.0.1 (the hangup flood from 127.0.0.2): the per-address cap
  # is off where the build has one.
  local guards=()
  "$registry" --help | grep -q -- --max-per-address && guards=(--max-per-address 0)
  # The same for the sign-up and failed-password budgets and the hash queue's bounds (benchmark
  # users are made by their first login, hundreds at once, and each password waiting for its hash
  # holds a failed-password token until it is found right), unless the workload sets the hash queue itself (the
  # hang-up flood measures the guard).
  if "$registry" --help | grep -q -- --signups; then
    guards+=(--signups 0 --login-failures 0)
    [[ $registry_args == *--hash-queue* ]] || guards+=(--hash-queue 0 --hash-queue-per-address 0)
  fi
  # parley-bench speaks the plain protocol unless this side is TLS (tls_side=1, AB_TLS); a build
  # with TLS otherwise runs without it here.
  local bench_tls=()
  if [ "${tls_side:-0}" = 1 ]; then
    bench_tls=(--tls)
  elif "$registry" --help | grep -q -- --no-tls; then
    guards+=(--no-tls)
  fi
  # shellcheck disable=SC2086  # the registry's arguments are words on purpose
  taskset -c "$server_cores" "$registry" "$port" 60 600 $registry_args \
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
  timeout 400 taskset -c 1 "$generator" --port "$port" --pid "$server_pid" "${bench_tls[@]}" "$@" \
    2>/dev/null | tail -n 1
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
  if [ -n "$db" ]; then rm -f "$db" "$db-wal" "$db-shm"; fi
}

memory="--db :memory: --hash-cost test"
# label|credentials|registry arguments|parley-bench arguments[|the registry's cores, default 0]
workloads=(
  "direct-w16|none|$memory|--workload direct --users 1000 --inflight 16 --duration 5 --warmup 2"
  "direct-w4|none|$memory|--workload direct --users 1000 --inflight 4 --duration 5 --warmup 2"
  "broadcast|none|$memory|--workload broadcast --users 1000 --duration 5 --warmup 2"
  "latency|none|$memory|--workload latency --duration 5 --warmup 2"
  "idle|idle|$memory|--workload idle --users $idle_clients"
  "logins-10k|idle10k|$memory|--workload idle --users 10000"
  "offline|none|--db @DB@ --hash-cost test|--workload offline --duration 10 --warmup 2|0,1"
  "hangup|none|--db :memory: --hash-cost interactive|--workload hangup --duration 5 --warmup 2"
  "private|none|$memory|--workload private --users 1000 --inflight 16 --duration 5 --warmup 2"
  "storm-10k|none|$memory|--workload login-storm --rate 1250 --duration 8 --warmup 1"
)
selected=${AB_WORKLOADS:-direct-w16 direct-w4 broadcast latency idle}
[[ ${AB_TLS:-} =~ ^(A|B|AB)?$ ]] || { echo "ab.sh: AB_TLS must be A, B or AB" >&2; exit 2; }
if [[ " $selected " == *" offline "* ]]; then
  [ -d "$db_dir" ] || { echo "ab.sh: AB_DB_DIR $db_dir is not a folder" >&2; exit 2; }
  if [ "$(stat -f -c %T "$db_dir")" = tmpfs ]; then
    echo "ab.sh: $db_dir is a tmpfs; the offline workload measures a disk (set AB_DB_DIR)" >&2
    exit 2
  fi
fi
results=$work/results.txt
for entry in "${workloads[@]}"; do
  IFS='|' read -r label credentials registry_args args server_cores <<<"$entry"
  server_cores=${server_cores:-0}
  [[ " $selected " == *" $label "* ]] || continue
  for ((run = 1; run <= reps; ++run)); do
    for side in A B; do
      registry=$a generator=$bench_a
      [ "$side" = B ] && registry=$b generator=$bench
      tls_side=0
      [[ ${AB_TLS:-} == *$side* ]] && tls_side=1
      # shellcheck disable=SC2086  # the workload's arguments are words on purpose
      line=$(run_once "$generator" "$registry" "$work/$credentials.txt" "$registry_args" $args)
      echo "side=$side label=$label run=$run $line" | tee -a "$results"
    done
  done
done

# The figures each workload is judged by, their medians per side, and B/A.
awk '
function field(name,   i, kv) {
  for (i = 1; i <= NF; ++i) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
  return ""
}
function median(list, n,   sorted, i, j, t) {
  for (i = 1; i <= n; ++i) sorted[i] = list[i]
  for (i = 1; i <= n; ++i) for (j = i + 1; j <= n; ++j) if (sorted[j] + 0 < sorted[i] + 0) { t = sorted[i]; sorted[i] = sorted[j]; sorted[j] = t }
  return n % 2 ? sorted[(n + 1) / 2] : (sorted[n / 2] + sorted[n / 2 + 1]) / 2
}
function figures(label) {
  if (label == "idle") return "rss_per_client_kib"
  if (label == "latency") return "p50_us"
  if (label == "logins-10k") return "connect_s settled_s"
  if (label == "offline") return "offline_rate_per_s p99_us store_failed"
  if (label == "hangup") return "victim_login_p50_us victim_login_max_us victim_failed flood_rate_per_s"
  if (label == "storm-10k") return "logins login_rate_per_s p50_us p99_us"
  return "rate_per_s"
}
{
  label = field("label"); side = field("side")
  if (!(label in seen)) { seen[label] = 1; order[++labels] = label }
  n = split(figures(label), names, " ")
  for (k = 1; k <= n; ++k) {
    v = field(names[k])
    if (v == "") continue
    key = label SUBSEP names[k] SUBSEP side
    values[key, ++count[key]] = v
  }
}
END {
  printf "\n| workload | figure | A median | B median | B/A |\n|---|---|---|---|---|\n"
  for (l = 1; l <= labels; ++l) {
    label = order[l]
    n = split(figures(label), names, " ")
    for (k = 1; k <= n; ++k) {
      for (s = 1; s <= 2; ++s) {
        side = s == 1 ? "A" : "B"; key = label SUBSEP names[k] SUBSEP side; c = count[key]
        delete list
        for (i = 1; i <= c; ++i) list[i] = values[key, i]
        m[side] = c ? median(list, c) : 0
      }
      printf "| %s | %s | %.2f | %.2f | %s |\n", label, names[k], m["A"], m["B"], m["A"] + 0 ? sprintf("%.3f", m["B"] / m["A"]) : "-"
    }
  }
}' "$results"
