#!/usr/bin/env bash
# Installs what the benchmarks' baselines need, if missing: nginx and curl (apt-get, as root or
# through sudo), and prints the path of the nginx binary.
set -euo pipefail
die() { echo "need_nginx: $*" >&2; exit 1; }
# Debian 12's `nginx` package is the server itself (with the SSL module); `nginx-light` is only
# a metapackage adding an echo module. Installing it would start the Debian nginx service on
# port 80: a policy-rc.d that denies every start is put in place for the install only (unless
# one exists, as in Docker images), and the service is then disabled, so nothing is left
# running or enabled.
nginx_bin() { command -v nginx || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; }; }
missing=()
nginx_bin > /dev/null || missing+=(nginx)
command -v curl > /dev/null || missing+=(curl)
if ((${#missing[@]})); then
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d > /dev/null
    "${sudo_cmd[@]}" chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  rc=0
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null ||
    { "${sudo_cmd[@]}" apt-get update -qq &&
      "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null; } ||
    rc=$?
  if ((own_policy)); then "${sudo_cmd[@]}" rm -f /usr/sbin/policy-rc.d; fi
  ((rc == 0)) || die "apt-get install ${missing[*]} failed"
  if [[ " ${missing[*]} " == *" nginx "* ]]; then
    if [[ -d /run/systemd/system ]]; then
      "${sudo_cmd[@]}" systemctl disable --now nginx > /dev/null 2>&1 || true
    else
      "${sudo_cmd[@]}" update-rc.d nginx disable > /dev/null 2>&1 || true
    fi
  fi
fi
nginx_bin || die "nginx not found after installing it"
