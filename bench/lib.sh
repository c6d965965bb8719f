#!/usr/bin/env bash
# Helpers the benchmark scripts share (sourced by compare.sh and ab.sh).

# A free port: random in a range outside the ephemeral ports, not listened on right now.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 10000))
    ss -Hltn "sport = :$port" | grep -q . || { echo "$port"; return; }
  done
}
