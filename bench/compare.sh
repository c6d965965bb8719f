#!/usr/bin/env bash
# Measures the registry against ngIRCd and InspIRCd with parley-bench and prints one markdown table
# of medians, then the issue's targets as ratios, met or missed.
#   bench/compare.sh           the full comparison (15 minutes on 2 cores after the build, in the
#                              runs of 21 November 2026)
#   bench/compare.sh --quick   small N, short runs, one repetition: a sanity check of the pipeline
#   bench/compare.sh --tls     every server over TLS: the registry as it runs by default, ngIRCd
#                              and InspIRCd on a TLS port (GnuTLS, a P-256 certificate made for the
#                              run), parley-bench --tls; combines with --quick
# Order: the traffic workloads (direct W=16, direct W=4, broadcast, latency), then the registry's
# private and login-storm, and last the idle workload, the slowest (logging in 10,000 clients takes
# 5 to 20 s per run, and took the registry minutes before its accept loop was fixed), so that a
# run stopped early still has the comparisons. Within a workload the servers' repetitions are
# interleaved (registry, ngIRCd, InspIRCd, registry, ngIRCd, ...), so that a drift of the machine
# (another job starting, the CPU clock moving) hits every side of a ratio alike instead of one
# server's whole series.
# Each run gets a fresh server on a free loopback port, pinned to core 0, with parley-bench pinned
# to core 1; every server is stopped by its PID, on exit too. Raw result lines go to
# <build>/bench-results/compare-<time>.txt, server and generator output beside them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

quick=no
tls=no
for arg in "$@"; do
  case "$arg" in
    --quick) quick=yes ;;
    --tls) tls=yes ;;
    *)
      echo "Usage: bench/compare.sh [--quick] [--tls]" >&2
      exit 2
      ;;
  esac
done

# ---------------------------------------------------------------- settings

# Repetitions of every run; the table shows their medians.
reps=3
# Seconds measured, and seconds of warm-up before them, per traffic run.
duration=10
warmup=2
# Users of the direct, broadcast and private workloads, and clients of the idle one.
users=1000
idle_clients=10000
# Login-storm: calibration runs offer these login rates in turn; the highest one fully achieved
# (no login skipped, at least storm_kept_pct of it counted) is what the hash workers sustain, and
# the measured runs use it. Each calibration run measures storm_probe_s seconds.
storm_probe_rates=(5 10 15 20 30 40 60 80 120 160)
storm_kept_pct=90
storm_probe_s=5
if [ "$quick" = yes ]; then
  reps=1
  duration=2
  warmup=1
  users=100
  idle_clients=500
  storm_probe_s=2
fi
# Beyond the measured time a run may take this long (logins of 10,000 clients, the 2 s drain)
# before it is killed and counted as failed.
run_slack_s=330
# A started server must accept a connection within this many tenths of a second. The registry's
# idle start, which first imports 10,000 accounts at --hash-cost test, accepted within 0.75 s.
ready_tenths=100
# A stopped server must exit within this many seconds, else it is killed.
stop_grace_s=10
# parley-bench --connect-batch per server: clients registering at once. ngIRCd listens with a
# backlog of 10, so more at once would overflow it into SYN retries; InspIRCd answers each
# registration only after about 1 s, so 8 at a time would take 125 s per 1,000 clients. The
# registry keeps parley-bench's default (256).
declare -A connect_batch=([ngircd]=8 [inspircd]=512)
# Exit status each server gives when stopped with SIGTERM (InspIRCd: EXIT_STATUS_SIGTERM).
declare -A clean_stop=([registry]=0 [ngircd]=0 [inspircd]=10)
# InspIRCd 3.15 (Debian 12) with m_ssl_gnutls loaded dies of SIGSEGV on SIGTERM, every time,
# even with no client ever connected (its exit status 139); that is what a clean stop looks like
# there. Its core dump is turned off (ulimit -c 0 below).
[ "$tls" = no ] || clean_stop[inspircd]=139
server_core=0
generator_core=1

# The build folder (PARLEY_BUILD_DIR overrides it, e.g. to keep a separate release build).
build=${PARLEY_BUILD_DIR:-$root/build}
bench=$build/parley-bench
registry=$build/registry
stamp=$(date +%Y%m%d-%H%M%S)
results_dir=$build/bench-results
variant=
[ "$tls" = no ] || variant=-tls
results=$results_dir/compare$variant-$stamp.txt
logs=$results_dir/compare$variant-$stamp.logs
work=$(mktemp -d "${TMPDIR:-/tmp}/parley-compare.XXXXXX")

say() { echo "compare: $*" >&2; }

# ---------------------------------------------------------------- cleanup

server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    timeout "$stop_grace_s" tail --pid="$server_pid" -f /dev/null 2>/dev/null || kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- build and install

source "$root/scripts/deps.sh"
"$root/scripts/build.sh" "$build" >&2
for binary in "$bench" "$registry"; do
  [ -x "$binary" ] || { say "missing $binary after the build"; exit 1; }
done

# Debian starts a packaged daemon on install; the comparison runs its own instances, so whatever
# the install started is stopped (through systemd when it runs, else by the PID listening on 6667).
install_irc_servers() {
  local missing=()
  command -v ngircd >/dev/null || missing+=(ngircd)
  command -v inspircd >/dev/null || missing+=(inspircd)
  [ ${#missing[@]} -eq 0 ] && return 0
  parley_install_missing "${missing[@]}"
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    for unit in "${missing[@]}"; do
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
    done
  fi
  local pids
  pids=$(ss -Hltnp 'sport = :6667' 2>/dev/null | grep -oE '"(ngircd|inspircd)",pid=[0-9]+' | grep -oE '[0-9]+$' | sort -u || true)
  for pid in $pids; do
    say "stopping the packaged IRC server the install started (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    timeout "$stop_grace_s" tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  done
}
install_irc_servers

if [ "$(nproc)" -lt 2 ]; then
  say "fewer than 2 cores: server and generator share one core, numbers are not comparable"
  server_core=0
  generator_core=0
fi

mkdir -p "$results_dir" "$logs"
# The transport: plain everywhere (the registry with --no-tls), or TLS everywhere with one
# certificate for the IRC servers (the registry makes its own).
registry_transport=(--no-tls)
bench_transport=()
if [ "$tls" = yes ]; then
  command -v openssl >/dev/null || parley_install_missing openssl
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=127.0.0.1" -keyout "$work/tls-key.pem" -out "$work/tls-cert.pem" 2>/dev/null
  registry_transport=()
  bench_transport=(--tls)
fi
: > "$work/credentials.txt"
# The registry's idle runs start with parley-bench's idle_clients users already registered:
# parley-bench's names are <prefix><i> for i in 0..N-1 with password <password>, and compare.sh
# keeps its defaults (b, benchpw; bench/options.hpp). The accounts are the registry's user base,
# not a cost of connecting, and are imported before the registry listens, i.e. before parley-bench
# reads the server's RSS "before": RSS per client is that of a connected, logged-in client.
awk -v n="$idle_clients" 'BEGIN { for (i = 0; i < n; ++i) print "b" i " benchpw" }' \
  >"$work/idle-credentials.txt"
: > "$work/motd.txt"
mkdir -p "$work/ngircd.d"
[ "$(id -u)" -eq 0 ] && inspircd_root=(--runasroot) || inspircd_root=()

# ---------------------------------------------------------------- servers

source "$root/bench/lib.sh"

# start_server NAME PORT LOG [HASH_COST [CREDENTIALS]]: starts NAME pinned to the server core, sets
# server_pid, and returns once it accepts a TCP connection (or fails if it exits or never does).
# CREDENTIALS is the registry's file of accounts to import before it listens (default: empty).
start_server() {
  local name=$1 port=$2 log=$3 hash_cost=${4:-test} credentials=${5:-$work/credentials.txt}
  case "$name" in
    registry)
      taskset -c "$server_core" "$registry" "$port" 60 600 --db :memory: "${registry_transport[@]}" --hash-cost "$hash_cost" \
        --credentials "$credentials" --log-level warn --max-per-address 0 --signups 0 \
        --login-failures 0 --hash-queue 0 --hash-queue-per-address 0 >"$log" 2>&1 &
      ;;
    ngircd)
      sed -e "s|@PORT@|$port|; s|@MOTD@|$work/motd.txt|; s|@DIR@|$work|g" \
        "$root/bench/conf/ngircd.conf" >"$work/ngircd.conf"
      if [ "$tls" = yes ]; then
        # No plain port; the TLS one is the port of the run.
        sed -i -e "s|^\(\s*Ports = \)$port\$|\1|" "$work/ngircd.conf"
        printf '\n[SSL]\n\tCertFile = %s\n\tKeyFile = %s\n\tPorts = %s\n' \
          "$work/tls-cert.pem" "$work/tls-key.pem" "$port" >>"$work/ngircd.conf"
      fi
      taskset -c "$server_core" ngircd --nodaemon --config "$work/ngircd.conf" >"$log" 2>&1 &
      ;;
    inspircd)
      sed -e "s|@PORT@|$port|; s|@DIR@|$work|g" "$root/bench/conf/inspircd.conf" >"$work/inspircd.conf"
      if [ "$tls" = yes ]; then
        # The run's port speaks TLS only.
        sed -i -e "s|^<bind address=\"127.0.0.1\" port=\"$port\" type=\"clients\">|<bind address=\"127.0.0.1\" port=\"$port\" type=\"clients\" sslprofile=\"bench\">|" \
          "$work/inspircd.conf"
        printf '<module name="ssl_gnutls">\n<sslprofile name="bench" provider="gnutls" certfile="%s" keyfile="%s" dhfile="" hash="sha256">\n' \
          "$work/tls-cert.pem" "$work/tls-key.pem" >>"$work/inspircd.conf"
      fi
      (
        ulimit -c 0
        exec taskset -c "$server_core" inspircd --nofork --nopid "${inspircd_root[@]}" \
          --config="$work/inspircd.conf"
      ) >"$log" 2>&1 &
      ;;
  esac
  server_pid=$!
  local tenths
  for ((tenths = 0; tenths < ready_tenths; ++tenths)); do
    kill -0 "$server_pid" 2>/dev/null || { say "$name exited at start-up (see $log)"; server_pid=""; return 1; }
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  say "$name did not accept connections on port $port (see $log)"
  return 1
}

# stop_server NAME: SIGTERM to server_pid, waits for it, and checks its exit status.
stop_server() {
  local name=$1 status=0
  [ -n "$server_pid" ] || return 1
  kill -TERM "$server_pid" 2>/dev/null || true
  if ! timeout "$stop_grace_s" tail --pid="$server_pid" -f /dev/null; then
    say "$name (pid $server_pid) ignored SIGTERM for ${stop_grace_s} s: killed"
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" || status=$?
  server_pid=""
  if [ "$status" -ne "${clean_stop[$name]}" ]; then
    say "$name exited with status $status (expected ${clean_stop[$name]})"
    return 1
  fi
}

# ---------------------------------------------------------------- runs

# run_once SERVER LABEL RUN [HASH_COST] -- BENCH_ARGS...: one fresh server, one parley-bench run.
# Appends "server= label= run= exit= stop= <the bench line>" to the results file and prints the line.
# Read from the environment: run_duration (seconds measured, instead of duration) and
# run_credentials (the registry's credentials file, instead of the empty one).
run_once() {
  local name=$1 label=$2 run=$3 hash_cost=test
  shift 3
  if [ "$1" != "--" ]; then hash_cost=$1; shift; fi
  shift
  local port base line proto status=0 stop=ok
  port=$(free_port)
  base=$logs/$name-$label-$run
  proto=parley
  [ "$name" = registry ] || proto=irc
  local batch=()
  [ -z "${connect_batch[$name]:-}" ] || batch=(--connect-batch "${connect_batch[$name]}")
  if ! start_server "$name" "$port" "$base.server.log" "$hash_cost" \
    "${run_credentials:-$work/credentials.txt}"; then
    line="server=$name label=$label run=$run exit=setup stop=none"
    echo "$line" >>"$results"
    echo "$line"
    return
  fi
  line=$(timeout --kill-after=5 $((${run_duration:-$duration} + warmup + run_slack_s)) \
    taskset -c "$generator_core" "$bench" --proto "$proto" --port "$port" --pid "$server_pid" \
    "${bench_transport[@]}" "${batch[@]}" --duration "${run_duration:-$duration}" --warmup "$warmup" "$@" 2>"$base.bench.log" | tail -n 1) || status=$?
  stop_server "$name" || stop=failed
  line="server=$name label=$label run=$run exit=$status stop=$stop $line"
  echo "$line" >>"$results"
  echo "$line"
}

# series SERVER LABEL [HASH_COST] -- BENCH_ARGS...: reps runs, each on its own server.
series() {
  local name=$1 label=$2 run
  shift 2
  for ((run = 1; run <= reps; ++run)); do
    say "$name $label run $run/$reps"
    run_once "$name" "$label" "$run" "$@" >/dev/null
  done
}

# interleaved "SERVER..." LABEL -- BENCH_ARGS...: reps rounds, each one run of every server in turn
# (registry, ngircd, inspircd, registry, ...), each on its own fresh server. Read from the
# environment: credentials_registry (the registry's credentials file for these runs).
interleaved() {
  local servers=$1 label=$2 run name
  shift 2
  for ((run = 1; run <= reps; ++run)); do
    for name in $servers; do
      say "$name $label run $run/$reps"
      if [ "$name" = registry ] && [ -n "${credentials_registry:-}" ]; then
        run_credentials=$credentials_registry run_once "$name" "$label" "$run" "$@" >/dev/null
      else
        run_once "$name" "$label" "$run" "$@" >/dev/null
      fi
    done
  done
}

# The value of KEY in a result line, or nothing.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p" | head -n 1; }

{
  echo "# bench/compare.sh $* ($stamp) on $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
  echo "# registry: --hash-cost test --db :memory: (login-storm: --hash-cost interactive; idle: the $idle_clients accounts exist before the clients connect); server on core $server_core, parley-bench on core $generator_core"
  echo "# duration=$duration warmup=$warmup users=$users idle_clients=$idle_clients reps=$reps"
  echo "# --connect-batch: ngircd=${connect_batch[ngircd]} inspircd=${connect_batch[inspircd]} registry=default"
} >"$results"

# The traffic workloads first, the servers' runs interleaved; the idle runs, the slowest, come last.
servers="registry ngircd inspircd"
interleaved "$servers" direct-w16 -- --workload direct --users "$users" --inflight 16
interleaved "$servers" direct-w4 -- --workload direct --users "$users" --inflight 4
interleaved "$servers" broadcast -- --workload broadcast --users "$users"
interleaved "$servers" latency -- --workload latency
series registry private -- --workload private --users "$users" --inflight 16

# Login-storm with the secure (default, interactive) hash cost: first the highest login rate the
# hash workers sustain, then the measured runs at that rate.
storm_rate=""
for rate in "${storm_probe_rates[@]}"; do
  say "registry login-storm calibration: $rate logins/s offered"
  probe=$(run_duration=$storm_probe_s run_once registry "storm-probe-$rate" 1 interactive -- \
    --workload login-storm --rate "$rate")
  achieved=$(field login_rate_per_s "$probe")
  skipped=$(field logins_skipped "$probe")
  if [ "$(field exit "$probe")" != 0 ] || [ "${skipped:-1}" != 0 ] ||
    ! awk -v a="${achieved:-0}" -v r="$rate" -v k="$storm_kept_pct" 'BEGIN { exit !(a * 100 >= r * k) }'; then
    say "not sustained: ${achieved:-?} logins/s achieved, ${skipped:-?} skipped"
    break
  fi
  storm_rate=$rate
done
if [ -z "$storm_rate" ]; then
  storm_rate=${storm_probe_rates[0]}
  say "not even ${storm_rate} logins/s was sustained; measuring at that rate anyway"
fi
say "measuring login-storm at $storm_rate logins/s"
series registry login-storm interactive -- --workload login-storm --rate "$storm_rate"

# Idle last, the servers interleaved; the registry's with its idle_clients accounts already imported.
credentials_registry=$work/idle-credentials.txt interleaved "$servers" idle -- --workload idle \
  --users "$idle_clients"

# ---------------------------------------------------------------- table and targets

say "raw results: $results"
cat >"$work/table.awk" <<'AWK'
# Medians over the completed runs (exit 0) of each server and workload, server by server in a fixed
# workload order (not the order of the runs), then the targets.
function median(list,    v, n, i, j, t) {
  n = split(list, v, " ")
  if (n == 0) return ""
  for (i = 2; i <= n; ++i)
    for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; --j) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
  return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
function shown(x, digits) { return x == "" ? "–" : sprintf("%." digits "f", x) }
BEGIN {
  split("rate_per_s login_rate_per_s p50_us p99_us max_us rss_per_client_kib connect_s server_cpu_pct gen_cpu_pct both_us_per_msg", names, " ")
  n = split("registry ngircd inspircd", list, " "); for (i = 1; i <= n; ++i) server_rank[list[i]] = i
  n = split("direct-w16 direct-w4 broadcast idle latency private login-storm", list, " ")
  for (i = 1; i <= n; ++i) workload_rank[list[i]] = i
}
# Where a key goes in the table: by server, then by workload; anything unknown after, as first seen.
function rank(key,    part, s, w) {
  split(key, part, SUBSEP)
  s = (part[1] in server_rank) ? server_rank[part[1]] : 9
  w = (part[2] in workload_rank) ? workload_rank[part[2]] : 99
  return s * 1000000 + w * 10000 + seen[key]
}
# 10000 -> 10,000
function thousands(n,    s) {
  s = n ""
  while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
  return s
}
/^#/ { next }
{
  delete f
  for (i = 1; i <= NF; ++i) { eq = index($i, "="); if (eq) f[substr($i, 1, eq - 1)] = substr($i, eq + 1) }
  key = f["server"] SUBSEP f["label"]
  if (!(key in runs)) { order[++count] = key; seen[key] = count; runs[key] = 0; ok[key] = 0 }
  ++runs[key]
  if (f["exit"] != "0") next
  ++ok[key]
  for (n in names) if (names[n] in f) values[key, names[n]] = values[key, names[n]] " " f[names[n]]
  # Both cores' time per delivered message: on loopback the sending core usually runs the receiving
  # socket's TCP input too, so neither CPU figure alone is the server's own cost (docs/BENCHMARKS.md).
  if (f["rate_per_s"] + 0 > 0 && f["server_cpu_pct"] != "" && f["gen_cpu_pct"] != "" && f["label"] !~ /^(idle|login-storm|storm-probe)/)
    values[key, "both_us_per_msg"] = values[key, "both_us_per_msg"] " " (f["server_cpu_pct"] + f["gen_cpu_pct"]) * 1e4 / f["rate_per_s"]
}
END {
  for (k = 2; k <= count; ++k)
    for (j = k; j > 1 && rank(order[j - 1]) > rank(order[j]); --j) { t = order[j]; order[j] = order[j - 1]; order[j - 1] = t }
  print ""
  print "| Server | Workload | Rate /s | p50 µs | p99 µs | RSS KiB/client | Server CPU % | Generator CPU % | Both cores µs/msg | Runs ok |"
  print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  for (k = 1; k <= count; ++k) {
    key = order[k]
    split(key, part, SUBSEP)
    if (part[2] ~ /^storm-probe/) continue
    for (n in names) med[key, names[n]] = median(values[key, names[n]])
    rate = shown(med[key, "rate_per_s"], 1)
    if (part[2] == "idle") rate = "connect " shown(med[key, "connect_s"], 2) " s"
    if (part[2] == "login-storm") rate = shown(med[key, "login_rate_per_s"], 1) " logins"
    server = part[1] == "registry" ? "registry (hash: test)" : part[1]
    if (part[2] == "login-storm") server = "registry (hash: interactive)"
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d/%d |\n", server, part[2], rate,
      shown(med[key, "p50_us"], 0), shown(med[key, "p99_us"], 0), shown(med[key, "rss_per_client_kib"], 2),
      shown(med[key, "server_cpu_pct"], 1), shown(med[key, "gen_cpu_pct"], 1),
      shown(med[key, "both_us_per_msg"], 2), ok[key], runs[key]
  }
  print ""
  print "Registry runs use `--hash-cost test` (a cheap Argon2id setting) so that logging in " thousands(idle_clients) " users measures the server, not the password hash; login-storm uses the secure default `interactive` at " storm_rate " logins/s, the highest rate the calibration runs (storm-probe-* in the raw results) found sustained; registry idle: the " thousands(idle_clients) " accounts exist before the clients connect."
  print ""
  print "| Target | Measured | Result |"
  print "|---|---|---|"
  ratio_target("direct W=16: registry ≥ 1.7 × InspIRCd", "direct-w16", "inspircd", "rate_per_s", 1.7)
  ratio_target("direct W=4: registry ≥ 1.3 × InspIRCd", "direct-w4", "inspircd", "rate_per_s", 1.3)
  ratio_target("broadcast 1000: registry ≥ 1.5 × ngIRCd", "broadcast", "ngircd", "rate_per_s", 1.5)
  idle_target()
  latency_target()
  r = med["registry" SUBSEP "login-storm", "p99_us"]
  printf "| login-storm (interactive hash): chatting users' p99 ≤ 5 ms | %s | %s |\n",
    r == "" ? "no completed run" : sprintf("p99 %.0f µs at %s logins/s", r, shown(med["registry" SUBSEP "login-storm", "login_rate_per_s"], 1)),
    r == "" ? "missed" : (r + 0 <= 5000 ? "met" : "missed") saturated("registry" SUBSEP "login-storm")
}
function gen_saturated(key) { return med[key, "gen_cpu_pct"] != "" && med[key, "gen_cpu_pct"] + 0 >= 95 }
# Appended to a result when the generator's core was saturated: the registry's number is a lower bound.
function saturated(key) { return gen_saturated(key) ? " (generator saturated: lower bound)" : "" }
# For a ratio, the server compared with counts too: its rate a lower bound makes the ratio an upper one.
function ratio_target(text, label, other, metric, goal,    a, b, mine, theirs, note) {
  a = med["registry" SUBSEP label, metric]; b = med[other SUBSEP label, metric]
  if (a == "" || b == "" || b + 0 == 0) { printf "| %s | not measured | missed |\n", text; return }
  mine = gen_saturated("registry" SUBSEP label); theirs = gen_saturated(other SUBSEP label)
  note = mine && theirs ? " (generator saturated in both servers' runs: both rates are lower bounds, the ratio neither bound)" \
    : theirs ? " (generator saturated in " other "'s runs: the ratio is an upper bound)" : saturated("registry" SUBSEP label)
  printf "| %s | %.2f × (%.1f vs %.1f /s) | %s%s |\n", text, a / b, a, b, (a / b >= goal ? "met" : "missed"), note
}
function idle_target(    r, n, i, best) {
  r = med["registry" SUBSEP "idle", "rss_per_client_kib"]
  n = med["ngircd" SUBSEP "idle", "rss_per_client_kib"]; i = med["inspircd" SUBSEP "idle", "rss_per_client_kib"]
  if (r == "" || n == "" || i == "") { print "| idle 10,000: registry ≤ 0.9 KiB/client and below every IRC server | not measured | missed |"; return }
  best = n + 0 < i + 0 ? n : i
  printf "| idle 10,000: registry ≤ 0.9 KiB/client and below every IRC server | %.2f KiB (ngIRCd %.2f, InspIRCd %.2f) | %s |\n",
    r, n, i, (r + 0 <= 0.9 && r + 0 < best + 0 ? "met" : "missed")
}
function latency_target(    r, n, i, best) {
  r = med["registry" SUBSEP "latency", "p50_us"]
  n = med["ngircd" SUBSEP "latency", "p50_us"]; i = med["inspircd" SUBSEP "latency", "p50_us"]
  if (r == "" || (n == "" && i == "")) { print "| latency: registry p50 within 10 % of the best IRC server | not measured | missed |"; return }
  best = (n == "" || (i != "" && i + 0 < n + 0)) ? i : n
  printf "| latency: registry p50 within 10 %% of the best IRC server | %.0f µs vs %.0f µs (%.2f ×) | %s |\n",
    r, best, r / best, (r + 0 <= 1.1 * best ? "met" : "missed")
}
AWK
awk -v storm_rate="$storm_rate" -v idle_clients="$idle_clients" -f "$work/table.awk" "$results"
