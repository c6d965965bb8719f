#!/usr/bin/env bash
# Smoke run of one parley-bench workload: starts the registry on a free 127.0.0.1 port (cheap
# hashes, in-memory database), runs the workload tiny and short, checks the exit code and the keys
# of the result line, and stops the registry by its PID. Not a benchmark: no number is judged.
#   smoke_test.sh <registry binary> <parley-bench binary> <workload> [tls]
# With `tls` the registry runs TLS (its default) and parley-bench --tls; else both plain.
set -euo pipefail
registry=$1
bench=$2
workload=$3
tls=${4:-}
transport=(--no-tls)
bench_transport=()
if [ "$tls" = tls ]; then
  transport=()
  bench_transport=(--tls)
fi

work=$(mktemp -d)
registry_pid=
cleanup() {
  if [ -n "$registry_pid" ] && kill -0 "$registry_pid" 2>/dev/null; then
    kill "$registry_pid"
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL ($workload): $*" >&2
  [ -f "$work/registry.log" ] && { echo "--- registry log:" >&2; tail -20 "$work/registry.log" >&2; }
  exit 1
}

printf 'smokeuser smokepassword\n' >"$work/credentials.txt"

# A free port: the registry reports a port in use at once, so try another until one listens.
max_port_attempts=20
ready_polls=200   # of 50 ms: 10 s for the registry to start listening
for ((attempt = 0; attempt < max_port_attempts; ++attempt)); do
  port=$((20000 + RANDOM % 40000))
  # Every client comes from 127.0.0.1, and the workloads make their users by logging in: the
  # per-address guards are off (the hangup workload's flood is not judged here).
  "$registry" "$port" 60 600 --credentials "$work/credentials.txt" --db :memory: "${transport[@]}" \
    --hash-cost test --max-per-address 0 --signups 0 --login-failures 0 --hash-queue 0 \
    --hash-queue-per-address 0 >"$work/registry.log" 2>&1 &
  registry_pid=$!
  for ((poll = 0; poll < ready_polls; ++poll)); do
    grep -q "listening on 127.0.0.1:$port" "$work/registry.log" && break 2
    kill -0 "$registry_pid" 2>/dev/null || break
    sleep 0.05
  done
  wait "$registry_pid" 2>/dev/null || true
  registry_pid=
done
[ -n "$registry_pid" ] || fail "the registry did not start on any port"

users=4
[ "$workload" = idle ] && users=20
extra=()
# 1,000 mailboxes of 1,000 hold more than a second and its warm-up of :memory: stores.
[ "$workload" = offline ] && extra=(--recipients 1000)
set +e
line=$(timeout 20 "$bench" --workload "$workload" --port "$port" --users "$users" --duration 1 \
  --warmup 0 --rate 20 --pid "$registry_pid" "${bench_transport[@]}" "${extra[@]}" 2>"$work/bench.log")
status=$?
set -e
echo "$line"
[ "$status" -eq 0 ] || { cat "$work/bench.log" >&2; fail "parley-bench exited with $status"; }
[ "$(printf '%s\n' "$line" | wc -l)" -eq 1 ] || fail "expected exactly one result line"
case "$line" in "workload=$workload proto=parley "*) ;; *) fail "line does not start right" ;; esac

value() { printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
expect_keys() {
  for key in "$@"; do [ -n "$(value "$key")" ] || fail "no $key= in the line"; done
}
if [ "$workload" = idle ]; then
  expect_keys clients connect_s settled_s errors server_rss_kib rss_per_client_kib gen_cpu_pct
  [ "$(value clients)" -eq "$users" ] || fail "clients is not $users"
elif [ "$workload" = hangup ]; then
  expect_keys flood_connections flood_rate_per_s victim_attempts victim_logins \
    victim_login_p50_us victim_login_max_us victim_failed server_cpu_pct gen_cpu_pct
  [ "$(value victim_logins)" -gt 0 ] || fail "the victim never logged in"
  [ "$(value flood_connections)" -gt 0 ] || fail "no flood"
else
  expect_keys duration_s delivered rate_per_s p50_us p99_us max_us errors lost misdelivered \
    server_rss_kib server_cpu_pct gen_cpu_pct
  [ "$(value delivered)" -gt 0 ] || fail "nothing delivered"
  [ "$(value lost)" -eq 0 ] && [ "$(value misdelivered)" -eq 0 ] || fail "lost or misdelivered"
fi
[ "$(value errors)" -eq 0 ] || fail "errors reported"
if [ "$tls" = tls ]; then
  [ "$(value tls)" = 1 ] || fail "the line does not say tls=1"
  grep -q "TLS key SHA256:" "$work/registry.log" || fail "the registry did not run TLS"
fi
if [ "$workload" = offline ]; then
  expect_keys stored offline_rate_per_s store_failed mailbox_full ack_p50_us ack_p99_us
  [ "$(value stored)" -gt 0 ] || fail "nothing stored"
fi
if [ "$workload" = login-storm ]; then
  expect_keys logins login_rate_per_s
  [ "$(value logins)" -gt 0 ] || fail "no logins during the storm"
fi
echo "ok ($workload)"
