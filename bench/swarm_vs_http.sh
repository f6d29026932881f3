#!/usr/bin/env bash
# The swarm benchmark: one origin and N hosts in network namespaces (scripts/testbed.sh), every
# host's upload and download shaped to RATE with tbf. For each N, in the same run:
#  - Shoal: a daemon on every host; the N hosts `shoal get` the same F-byte file from the origin
#    at once; the time until the last get has its verified copy written out; then each copy is
#    checked with sha256sum against the original;
#  - the client-server baseline: nginx on the origin serves the same file over HTTP to N
#    concurrent `curl | sha256sum` (the digest checked too);
#  - the fluid bounds D_p2p = max(F/u_s, F/d_min, N*F/(u_s + sum u_i)) and
#    D_cs = max(N*F/u_s, F/d_min).
# Prints a Markdown table for bench/RESULTS.md (per N: Shoal's last host, its ratio to D_p2p,
# the HTTP baseline, its ratio to D_cs, the speed-up, what the origin uploaded, CPU use).
# Usage: bench/swarm_vs_http.sh [SIZE_MIB=256] [RATE_MBIT=40] [NS="1 4 8 16"]
# Env: SKIP_HTTP=1 skips the baseline (it takes N copies' time: 14 min at N=16);
#      SHOAL=PATH uses that binary instead of building the release preset.
# Needs root and `ip netns` (scripts/testbed.sh check says why not); nginx and curl are
# installed with apt-get if missing (bench/need_nginx.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-256}
rate_mbit=${2:-40}
ns_list=${3:-"1 4 8 16"}
skip_http=${SKIP_HTTP:-0}
name=shbench

die() { echo "swarm_vs_http: $*" >&2; exit 1; }
scripts/testbed.sh check > /dev/null || die "$(scripts/testbed.sh check 2>&1 || true)"
nginx=$(bench/need_nginx.sh) || die "cannot install nginx and curl"
shoal=$(bench/shoal_binary.sh) || die "cannot build shoal"

work=$(mktemp -d "${BENCH_DIR:-/tmp}/shoal-swarm-bench.XXXXXX")
cleanup() {
  scripts/testbed.sh down "$name" > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Identities, made once -------------------------------------------------------------------
max_n=0
for n in $ns_list; do ((n > max_n)) && max_n=$n; done
"$shoal" -q network create bench --out "$work/authority" > /dev/null
for ((i = 0; i <= max_n; i++)); do
  d=$work/ident/h$i
  "$shoal" -q --data-dir "$d" init --network "$work/authority/bench.cert" --name "h$i" > /dev/null
  "$shoal" -q --data-dir "$d" network sign "$d/identity/node.csr" \
    --authority "$work/authority/bench.key" > /dev/null
  "$shoal" -q --data-dir "$d" init --certificate "$d/identity/node.cert" > /dev/null
done
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$work/file.bin"
want=$(sha256sum "$work/file.bin" | cut -d' ' -f1)
size=$(stat -c %s "$work/file.bin")
# The origin's store, with the file added, is made once and reused by every run.
id=$("$shoal" -q --data-dir "$work/ident/h0" add "$work/file.bin")
echo "swarm_vs_http: $size_mib MiB, every host shaped to $rate_mbit Mbit/s up and down; content $id" >&2

# CPU time (user+system+...) and total time, from /proc/stat, in clock ticks.
cpu_ticks() { awk '/^cpu / {busy = $2 + $3 + $4 + $7 + $8; print busy, busy + $5 + $6}' /proc/stat; }

# wait_socket DIR: the daemon of that data directory is up (bounded).
wait_socket() {
  for _ in $(seq 200); do
    [[ -S "$1/control.sock" ]] && return 0
    sleep 0.05
  done
  die "the daemon in $1 did not start: $(cat "$1.log" 2> /dev/null)"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

run_shoal() {
  local n=$1 i start end pids=() rc busy0 all0 busy1 all1
  scripts/testbed.sh up "$name" $((n + 1)) "${rate_mbit}mbit" > /dev/null
  rm -rf "$work/run"
  mkdir -p "$work/run"
  for ((i = 0; i <= n; i++)); do
    if ((i == 0)); then
      ln -s "$work/ident/h0" "$work/run/h0"
    else
      cp -a "$work/ident/h$i" "$work/run/h$i"
    fi
    rm -f "$work/run/h$i/control.sock"
    scripts/testbed.sh spawn "$name" "$i" "$work/run/h$i.log" -- \
      "$shoal" --data-dir "$work/run/h$i" daemon --listen "$(scripts/testbed.sh addr "$i"):7420" \
      > /dev/null
  done
  for ((i = 0; i <= n; i++)); do wait_socket "$work/run/h$i"; done
  read -r busy0 all0 < <(cpu_ticks)
  start=$(now_ms)
  for ((i = 1; i <= n; i++)); do
    "$shoal" --json --data-dir "$work/run/h$i" get "$id" --from "$(scripts/testbed.sh addr 0):7420" \
      -o "$work/run/out$i" > "$work/run/get$i.json" 2> "$work/run/get$i.err" &
    pids+=("$!")
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || die "shoal get on h$((i + 1)) failed: $(cat "$work/run/get$((i + 1)).err")"
  done
  end=$(now_ms)
  read -r busy1 all1 < <(cpu_ticks)
  shoal_ms=$((end - start))
  shoal_cpu=$(((busy1 - busy0) * 100 / (all1 - all0)))
  origin_up=$("$shoal" --json --data-dir "$work/run/h0" status |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["uploaded_bytes"])')
  for ((i = 1; i <= n; i++)); do
    [[ $(sha256sum "$work/run/out$i" | cut -d' ' -f1) == "$want" ]] ||
      die "h$i: the copy Shoal wrote differs from the original"
  done
  from_origin=$(python3 -c 'import glob, json, sys
print(sum(json.load(open(f))["from_sources"] for f in glob.glob(sys.argv[1] + "/get*.json")))' \
    "$work/run")
  scripts/testbed.sh down "$name" > /dev/null
  # The origin's store is shared by every run; its daemon is gone, so it is free again.
  rm -rf "$work/run"
}

run_http() {
  local n=$1 i start end pids=()
  scripts/testbed.sh up "$name" $((n + 1)) "${rate_mbit}mbit" > /dev/null
  mkdir -p "$work/nginx/tmp"
  local user_line=''
  [[ $(id -u) -eq 0 ]] && user_line='user root root;'
  cat > "$work/nginx.conf" << EOF
$user_line
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  sendfile on;
  server {
    listen $(scripts/testbed.sh addr 0):8080;
    root $work;
  }
}
EOF
  scripts/testbed.sh spawn "$name" 0 "$work/nginx.log" -- "$nginx" -p "$work/nginx" \
    -c "$work/nginx.conf" > /dev/null
  for _ in $(seq 100); do
    scripts/testbed.sh exec "$name" 1 curl -s -o /dev/null -r 0-0 \
      "http://$(scripts/testbed.sh addr 0):8080/file.bin" && break
    sleep 0.1
  done
  start=$(now_ms)
  for ((i = 1; i <= n; i++)); do
    scripts/testbed.sh exec "$name" "$i" sh -c \
      "curl -sf http://$(scripts/testbed.sh addr 0):8080/file.bin | sha256sum" \
      > "$work/http$i.sum" &
    pids+=("$!")
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || die "curl on h$((i + 1)) failed"; done
  end=$(now_ms)
  http_ms=$((end - start))
  for ((i = 1; i <= n; i++)); do
    [[ $(cut -d' ' -f1 "$work/http$i.sum") == "$want" ]] || die "h$i: HTTP copy differs"
  done
  scripts/testbed.sh down "$name" > /dev/null
}

echo "| N | Shoal, last host (s) | D_p2p (s) | Shoal / D_p2p | HTTP, last host (s) | D_cs (s) | HTTP / D_cs | speed-up over HTTP | origin sent (copies) | CPU busy |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for n in $ns_list; do
  run_shoal "$n"
  http_ms=''
  [[ $skip_http == 1 ]] || run_http "$n"
  python3 - "$n" "$size" "$rate_mbit" "$shoal_ms" "${http_ms:-0}" "$origin_up" "$from_origin" \
    "$shoal_cpu" << 'PY'
import sys
n, size, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
shoal, http = int(sys.argv[4]) / 1000, int(sys.argv[5]) / 1000
origin_up, from_origin, cpu = int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
u = rate * 1e6 / 8  # tc's mbit is 10^6 bits per second
d_p2p = max(size / u, size / u, n * size / (u + n * u))
d_cs = max(n * size / u, size / u)
h = f"{http:.1f}" if http else "-"
hr = f"{http / d_cs:.2f}" if http else "-"
sp = f"{http / shoal:.1f}x" if http else "-"
print(f"| {n} | {shoal:.1f} | {d_p2p:.1f} | {shoal / d_p2p:.2f} | {h} | {d_cs:.1f} | {hr} | {sp} |"
      f" {origin_up / size:.2f} ({from_origin / size:.2f} as blocks) | {cpu}% |")
PY
done
