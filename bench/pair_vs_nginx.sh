#!/usr/bin/env bash
# Transfer speed over loopback: one Shoal pair (daemon A serves, daemon B fetches for
# `shoal get`) against nginx serving the same file over HTTPS (TLS 1.3 only) to
# `curl | openssl dgst -sha256` (the fastest SHA-256 a user has at hand; Debian's sha256sum
# hashes at about a quarter of its speed here), in the same run, alternating, median of ROUNDS.
# Both sides move the same random file of SIZE_MIB (in page cache); every round checks the bytes
# received (the digest for nginx, `cmp` of the output for Shoal). Prints a Markdown row for bench/RESULTS.md;
# per-round lines, the negotiated cipher and CPU times go to stderr.
# Usage: bench/pair_vs_nginx.sh [SIZE_MIB=1024] [ROUNDS=3]
# Env: BENCH_DIR (parent of the temporary work dir, default /tmp); SKIP_SHOAL=1 measures only
# the nginx side (does not build shoal; the row shows no ratio); SHOAL=PATH uses that shoal
# binary instead of building the release preset.
# Installs nginx and curl with apt-get if missing (root or sudo). nginx runs only as our own
# process (`nginx -p WORK -c WORK/nginx.conf`, `daemon off;`, in the background) on a free
# high port of 127.0.0.1, and is stopped with SIGTERM on every exit path.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
rounds=${2:-3}
skip_shoal=${SKIP_SHOAL:-0}

die() { echo "pair_vs_nginx: $*" >&2; exit 1; }

# --- Tools -----------------------------------------------------------------------------------
nginx=$(bench/need_nginx.sh) || die "cannot install nginx and curl"

if [[ -n ${SHOAL:-} ]]; then
  shoal=$(realpath "$SHOAL")
elif [[ $skip_shoal != 1 ]]; then
  cmake --preset release > /dev/null
  cmake --build --preset release --target shoal > /dev/null
  shoal=$PWD/build/release/apps/shoal/shoal
fi

# --- Work dir and cleanup --------------------------------------------------------------------
work=$(mktemp -d "${BENCH_DIR:-/tmp}/shoal-pair-bench.XXXXXX")
nginx_pid='' a_pid='' b_pid=''
# SIGTERM, then SIGKILL after 10 s; reaps the process. Prints a warning on a non-zero exit.
stop_pid() {
  local pid=$1 name=$2 i rc=0
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2> /dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2> /dev/null; then
    echo "pair_vs_nginx: $name did not stop within 10 s of SIGTERM; killing it" >&2
    kill -KILL "$pid" 2> /dev/null || true
  fi
  wait "$pid" 2> /dev/null || rc=$?
  ((rc == 0 || rc == 143)) || echo "pair_vs_nginx: $name exited with status $rc" >&2
}
cleanup() {
  stop_pid "$b_pid" "shoal daemon B"
  stop_pid "$a_pid" "shoal daemon A"
  stop_pid "$nginx_pid" nginx
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$work/input.bin"
want=$(openssl dgst -sha256 -r "$work/input.bin" | cut -d' ' -f1)  # also puts it into the page cache

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
source bench/proc_stats.sh
TIMEFORMAT='%3R %3U %3S'  # for `time`: wall, user and system seconds of the timed commands

# --- nginx -----------------------------------------------------------------------------------
# worker_processes 1: the client opens one connection, which one worker serves whatever the
# count; more workers would only sit idle, and one matches the single connection of the pair.
# sendfile is on, but with TLS nginx has to encrypt in user space (no kTLS configured here), so
# it reads the file through its output buffers; that is the ordinary HTTPS setup.
# Run as root, the workers run as root too, so they can read the 0700 work dir.
nginx_port=$(free_port)
mkdir -p "$work/nginx/tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$work/nginx/key.pem" -out "$work/nginx/cert.pem" 2> /dev/null
user_line=''
if [[ $(id -u) -eq 0 ]]; then user_line='user root root;'; fi
cat > "$work/nginx.conf" << EOF
$user_line
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 64; }
http {
  access_log $work/nginx/access.log;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate $work/nginx/cert.pem;
    ssl_certificate_key $work/nginx/key.pem;
    ssl_protocols TLSv1.3;
    location = /file { alias $work/input.bin; }
  }
}
EOF
"$nginx" -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx.conf" \
  2> "$work/nginx/stderr.log" &
nginx_pid=$!
url=https://127.0.0.1:$nginx_port/file
for ((i = 0; ; i++)); do
  curl -sS --tlsv1.3 -k -r 0-0 -o /dev/null "$url" 2> /dev/null && break
  if ((i >= 100)) || ! kill -0 "$nginx_pid" 2> /dev/null; then
    cat "$work/nginx/stderr.log" "$work/nginx/error.log" >&2
    die "nginx did not answer on $url within 10 s"
  fi
  sleep 0.1
done
curl -v -sS --tlsv1.3 -k -r 0-0 -o /dev/null "$url" 2> "$work/curl-v.log"
cipher=$(grep -m1 'SSL connection using' "$work/curl-v.log" | sed 's/.*SSL connection using //') ||
  die "no 'SSL connection using' line in curl -v output"
echo "nginx: $("$nginx" -v 2>&1 | sed 's/.*: //'), $(curl --version | head -1 | cut -d' ' -f1-2)," \
  "cipher $cipher, port $nginx_port" >&2

# Sets r_wall, r_user, r_sys (seconds, of the client pipeline) and r_server (nginx's CPU seconds).
# Rounds run in the main shell (not in $(...)) so that die exits the script.
nginx_round() {
  local c0 c1
  c0=$(cpu_s "$nginx_pid")
  if ! { time { curl -sS --tlsv1.3 -k "$url" 2> "$work/curl.err" |
    openssl dgst -sha256 -r > "$work/digest"; }; } 2> "$work/time"; then
    cat "$work/curl.err" >&2
    die "curl | openssl dgst failed"
  fi
  c1=$(cpu_s "$nginx_pid")
  local got
  got=$(cut -d' ' -f1 "$work/digest")
  [[ $got == "$want" ]] || die "nginx: digest $got, expected $want"
  read -r r_wall r_user r_sys < "$work/time"
  r_server=$(printf '%.3f' "$(echo "$c1 - $c0" | bc -l)")
}

# --- Shoal -----------------------------------------------------------------------------------
# The interface of the daemon as specified in issue 3; adjust here if it changes.
shoal_setup_node() {  # DATA_DIR NAME
  "$shoal" --data-dir "$1" init --network "$work/net/bench.cert" --name "$2" > /dev/null
  "$shoal" network sign "$1/identity/node.csr" --authority "$work/net/bench.key" \
    -o "$1/identity/signed.cert" > /dev/null
  "$shoal" --data-dir "$1" init --certificate "$1/identity/signed.cert" > /dev/null
}
# The readiness line is expected on stderr; stdout goes to the same log in case it moves there.
start_daemon() {  # PID_VAR DATA_DIR PORT LOG; sets PID_VAR at once, so that cleanup stops it
  "$shoal" --data-dir "$2" daemon --listen "127.0.0.1:$3" --http-listen 127.0.0.1:0 > "$4" 2>&1 &
  printf -v "$1" %s $!
  local i
  for ((i = 0; ; i++)); do
    grep -q 'listening on' "$4" && return 0
    if ((i >= 100)) || ! kill -0 "${!1}" 2> /dev/null; then
      cat "$4" >&2
      die "shoal daemon on port $3 was not listening within 10 s"
    fi
    sleep 0.1
  done
}
if [[ $skip_shoal != 1 ]]; then
  "$shoal" network create bench --out "$work/net" > /dev/null
  shoal_setup_node "$work/a" a
  shoal_setup_node "$work/b" b
  id=$("$shoal" --data-dir "$work/a" -q add "$work/input.bin")  # before daemon A holds the lock
  a_port=$(free_port)
  start_daemon a_pid "$work/a" "$a_port" "$work/a.log"
  b_port=$(free_port)
fi

# Sets r_wall, r_user, r_sys (seconds, of `shoal get`) and r_server (CPU seconds of daemons A+B).
shoal_round() {
  stop_pid "$b_pid" "shoal daemon B"
  b_pid=''
  find "$work/b" -mindepth 1 -maxdepth 1 ! -name identity -exec rm -rf {} +
  rm -f "$work/out.bin"
  sync
  start_daemon b_pid "$work/b" "$b_port" "$work/b.log"
  local a0 b0 a1 b1
  a0=$(cpu_s "$a_pid") b0=$(cpu_s "$b_pid")
  if ! { time "$shoal" --data-dir "$work/b" -q get "$id" --from "127.0.0.1:$a_port" \
    -o "$work/out.bin" 2> "$work/get.err" > /dev/null; } 2> "$work/time"; then
    cat "$work/get.err" >&2
    echo "--- daemon A log" >&2; tail -20 "$work/a.log" >&2
    echo "--- daemon B log" >&2; tail -20 "$work/b.log" >&2
    die "shoal get failed"
  fi
  a1=$(cpu_s "$a_pid") b1=$(cpu_s "$b_pid")
  cmp "$work/input.bin" "$work/out.bin" || die "shoal get: output differs from the source"
  read -r r_wall r_user r_sys < "$work/time"
  r_server=$(printf '%.3f' "$(echo "$a1 - $a0 + $b1 - $b0" | bc -l)")
}

# --- Rounds ----------------------------------------------------------------------------------
nginx_times=() shoal_times=()
for ((r = 1; r <= rounds; r++)); do
  sync
  nginx_round
  nginx_times+=("$r_wall")
  line="round $r: nginx+openssl dgst $r_wall s"
  line+=" (CPU s: curl+openssl $r_user user $r_sys sys, nginx $r_server)"
  if [[ $skip_shoal != 1 ]]; then
    shoal_round
    shoal_times+=("$r_wall")
    line+="; shoal get $r_wall s (CPU s: get $r_user user $r_sys sys, daemons A+B $r_server)"
  fi
  echo "$line" >&2
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
gibs() { echo "$size_mib / 1024 / $1" | bc -l; }
ngx=$(median "${nginx_times[@]}")
if [[ $skip_shoal == 1 ]]; then
  printf '| %s MiB | (skipped) | %.2f s (%.2f GiB/s) | **n/a** |\n' \
    "$size_mib" "$ngx" "$(gibs "$ngx")"
  exit 0
fi
get=$(median "${shoal_times[@]}")
ratio=$(echo "$ngx / $get" | bc -l)
printf '| %s MiB | %.2f s (%.2f GiB/s) | %.2f s (%.2f GiB/s) | **%.2f x** |\n' \
  "$size_mib" "$get" "$(gibs "$get")" "$ngx" "$(gibs "$ngx")" "$ratio"
