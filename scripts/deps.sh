#!/usr/bin/env bash
# Installs the Debian 12 packages Parley builds with, if any is missing. Sourced by run.sh and test.sh.
set -euo pipefail

parley_packages=(
  g++ cmake make pkg-config
  libasio-dev libcereal-dev libsqlitecpp-dev libsqlite3-dev doctest-dev
  libreadline-dev libsodium-dev libcli11-dev libspdlog-dev libfmt-dev libssl-dev
  libtomlplusplus-dev nlohmann-json3-dev iproute2
)

parley_install_missing() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing: ${missing[*]}" >&2
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

parley_install_missing "${parley_packages[@]}"
