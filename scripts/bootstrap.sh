#!/usr/bin/env bash
# Installs everything Shoal needs to build, test and benchmark on Debian 12 (bookworm).
# Idempotent: packages already present are left alone. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang clang-format libclang-rt-14-dev
  libssl-dev openssl libsqlite3-dev sqlite3
  libboost-dev libboost-system-dev
  libcli11-dev libfmt-dev libspdlog-dev nlohmann-json3-dev libtomlplusplus-dev
  libisal-dev libsystemd-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  coreutils procps util-linux iproute2 bc python3 gdb
  curl prometheus chromium
  file groff-base zsh adduser systemd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "bootstrap: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq || echo "bootstrap: apt-get update failed; trying the cached package lists"
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
