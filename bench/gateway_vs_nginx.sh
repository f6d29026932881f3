#!/usr/bin/env bash
# The HTTP gateway against nginx on loopback (issue 21, item 6): one daemon holds a random file
# of SIZE_MIB and serves it at /content/ID; nginx serves the same file over plain HTTP
# (sendfile). curl downloads each to /dev/null, alternating, ROUNDS times; the rows are the
# medians, the ratio is nginx's time over the gateway's (1.0: as fast as nginx), with the
# servers' CPU seconds per round and the daemon's peak memory. Before the timed rounds, one
# download from each is hashed against the file. Then the time to first byte of a range at the
# end of a content the node does not hold: a second daemon is asked over its gateway for the
# last MiB of a content that only the first holds, at the download rate limit LIMIT.
# Usage: bench/gateway_vs_nginx.sh [SIZE_MIB=1024] [ROUNDS=3] [LIMIT=40mbit]
# Env: BENCH_DIR (parent of the temporary work dir), SHOAL=PATH (a shoal binary to use).
# Installs nginx and curl with apt-get if missing; nginx runs as our own process on a free port
# of 127.0.0.1 and is stopped on every exit path with the daemons.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
rounds=${2:-3}
limit=${3:-40mbit}
bench=gateway_vs_nginx
work_prefix=shoal-gateway-bench
nginx=$(bench/need_nginx.sh) || { echo "$bench: cannot install nginx and curl" >&2; exit 1; }
source bench/daemons.sh
source bench/proc_stats.sh
TIMEFORMAT='%3R'

head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$work/input.bin"
want=$(openssl dgst -sha256 -r "$work/input.bin" | cut -d' ' -f1)  # and into the page cache

# --- nginx, plain HTTP, one worker (one client connection) -----------------------------------
nginx_port=$(free_port)
mkdir -p "$work/nginx/tmp"
user_line=''
if [[ $(id -u) -eq 0 ]]; then user_line='user root root;'; fi
cat > "$work/nginx.conf" << CONF
$user_line
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  server {
    listen 127.0.0.1:$nginx_port;
    location = /file { alias $work/input.bin; }
  }
}
CONF
"$nginx" -p "$work/nginx" -e "$work/nginx/error.log" -c "$work/nginx.conf" \
  2> "$work/nginx/stderr.log" &
pids+=($!)
nginx_pid=$!
nginx_url=http://127.0.0.1:$nginx_port/file
for ((i = 0; ; i++)); do
  curl -sS -r 0-0 -o /dev/null "$nginx_url" 2> /dev/null && break
  ((i < 100)) && kill -0 "$nginx_pid" 2> /dev/null ||
    { cat "$work/nginx/stderr.log" >&2; die "nginx did not answer on $nginx_url"; }
  sleep 0.1
done

# --- the gateway -----------------------------------------------------------------------------
setup_node "$work/a" a
id=$("$shoal" --data-dir "$work/a" -q add "$work/input.bin")
a_port=$(free_port)
start_daemon "$work/a" "$a_port" "$work/a.log"
a_pid=${pids[-1]}
a_http=$(sed -n 's|.*HTTP on http://\([^/]*\)/.*|\1|p' "$work/a.log" | head -1)
[[ -n $a_http ]] || die "no 'HTTP on' line in daemon A's log"
gw_url=http://$a_http/content/$id
echo "$bench: nginx $("$nginx" -v 2>&1 | sed 's/.*: //') on $nginx_url; gateway $gw_url" >&2

for url in "$nginx_url" "$gw_url"; do  # the bytes, once each, before the timed rounds
  got=$(curl -sS "$url" | openssl dgst -sha256 -r | cut -d' ' -f1)
  [[ $got == "$want" ]] || die "$url: sha256 $got, expected $want"
done

# URL PID: sets r_wall (seconds of curl) and r_cpu (the server's CPU seconds).
round() {
  local c0 c1
  c0=$(cpu_s "$2")
  { time curl -sS -o /dev/null "$1" 2> "$work/curl.err"; } 2> "$work/time" ||
    { cat "$work/curl.err" >&2; die "curl $1 failed"; }
  c1=$(cpu_s "$2")
  r_wall=$(cat "$work/time")
  r_cpu=$(printf '%.2f' "$(echo "$c1 - $c0" | bc -l)")
}
nginx_times=() gw_times=() nginx_cpu=() gw_cpu=()
for ((r = 1; r <= rounds; r++)); do
  round "$nginx_url" "$nginx_pid"
  nginx_times+=("$r_wall") nginx_cpu+=("$r_cpu")
  round "$gw_url" "$a_pid"
  gw_times+=("$r_wall") gw_cpu+=("$r_cpu")
  echo "round $r: nginx ${nginx_times[-1]} s (CPU ${nginx_cpu[-1]} s)," \
    "gateway ${gw_times[-1]} s (CPU ${gw_cpu[-1]} s)" >&2
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
gibs() { echo "$size_mib / 1024 / $1" | bc -l; }
ngx=$(median "${nginx_times[@]}") gw=$(median "${gw_times[@]}")
printf '| %s MiB held, 1 client | %.2f s (%.2f GiB/s), CPU %s s, peak RSS %s MiB | %.2f s (%.2f GiB/s), CPU %s s | **%.2f x** |\n' \
  "$size_mib" "$gw" "$(gibs "$gw")" "$(median "${gw_cpu[@]}")" "$(peak_rss_mib "$a_pid")" \
  "$ngx" "$(gibs "$ngx")" "$(median "${nginx_cpu[@]}")" "$(echo "$ngx / $gw" | bc -l)"

# --- time to first byte of the last MiB of a content not held --------------------------------
setup_node "$work/b" b
start_daemon "$work/b" "$(free_port)" "$work/b.log" --bootstrap "127.0.0.1:$a_port" \
  --download-limit "$limit"
b_http=$(sed -n 's|.*HTTP on http://\([^/]*\)/.*|\1|p' "$work/b.log" | head -1)
last=$((size_mib * 1024 * 1024 - 1048576))
out=$(curl -sS -r "$last-" -o "$work/tail.bin" -w '%{time_starttransfer} %{time_total}' \
  "http://$b_http/content/$id") || die "gateway fetch-through failed: $(tail -5 "$work/b.log")"
cmp <(tail -c 1048576 "$work/input.bin") "$work/tail.bin" || die "the last MiB differs"
read -r ttfb total <<< "$out"
whole=$(echo "$size_mib * 1048576 / $("$shoal" --json --data-dir "$work/b" status |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["limits"]["download"])')" | bc -l)
printf '| last MiB of %s MiB not held, download limit %s | first byte %.2f s, last %.2f s | whole content at the limit: %.1f s | **%.3f** of it |\n' \
  "$size_mib" "$limit" "$ttfb" "$total" "$whole" "$(echo "$total / $whole" | bc -l)"
