#!/usr/bin/env bash
# More holders are never slower (issue 18, finding 4): two complete holders, each with its
# upload limited to RATE MiB/s, serve one fetcher a file of SIZE_MIB over loopback. Times the
# fetch from one holder alone and from both (`shoal get --from A --from B`), each against its
# bound: SIZE / RATE for one, SIZE / (2 x RATE) for two. Reports CPU seconds of all processes
# beside the times. Prints a Markdown row for bench/RESULTS.md; details go to stderr.
# Usage: bench/two_holders.sh [SIZE_MIB=512] [RATE_MIB=30]
# Env: BENCH_DIR (parent of the temporary work dir, default /tmp); SHOAL=PATH uses that binary.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-512}
rate_mib=${2:-30}

bench=two_holders work_prefix=shoal-two-holders
# shellcheck source=bench/daemons.sh
source bench/daemons.sh

cpu_of() {  # PID: user + system CPU seconds so far
  awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$1/stat"
}

setup_node "$work/a" a
setup_node "$work/b" b
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$work/input.bin"
id=$("$shoal" --data-dir "$work/a" -q add "$work/input.bin")
port_a=$(free_port)
port_b=$(free_port)
start_daemon "$work/a" "$port_a" "$work/a.log" --upload-limit "${rate_mib}MiB/s"
pid_a=${pids[-1]}
# b gets its copy from a before the runs (under a's limit).
start_daemon "$work/b" "$port_b" "$work/b.log" --upload-limit "${rate_mib}MiB/s"
pid_b=${pids[-1]}
"$shoal" --data-dir "$work/b" -q get "$id" --from "127.0.0.1:$port_a" -o "$work/b-copy.bin" > /dev/null
rm -f "$work/b-copy.bin"

run() {  # NAME SOURCES...: prints "WALL CPU" of one fetch into a fresh fetcher
  local name=$1
  shift
  setup_node "$work/$name" "$name"
  start_daemon "$work/$name" "$(free_port)" "$work/$name.log"
  local pid=${pids[-1]} from=() s
  for s in "$@"; do from+=(--from "127.0.0.1:$s"); done
  local cpu0
  cpu0=$(echo "$(cpu_of "$pid_a") + $(cpu_of "$pid_b") + $(cpu_of "$pid")" | bc -l)
  local start
  start=$(date +%s.%N)
  "$shoal" --data-dir "$work/$name" -q get "$id" "${from[@]}" -o "$work/$name.bin" > /dev/null ||
    { tail "$work/$name.log" >&2; die "get into $name failed"; }
  local wall
  wall=$(echo "$(date +%s.%N) - $start" | bc -l)
  cmp -s "$work/input.bin" "$work/$name.bin" || die "$name.bin differs from the input"
  rm -f "$work/$name.bin"
  echo "$wall $(echo "$(cpu_of "$pid_a") + $(cpu_of "$pid_b") + $(cpu_of "$pid") - $cpu0" | bc -l)"
}

read -r one_wall one_cpu < <(run f1 "$port_a")
echo "two_holders: one holder: $one_wall s, $one_cpu CPU-s" >&2
read -r two_wall two_cpu < <(run f2 "$port_a" "$port_b")
echo "two_holders: two holders: $two_wall s, $two_cpu CPU-s" >&2
one_bound=$(echo "$size_mib / $rate_mib" | bc -l)
two_bound=$(echo "$size_mib / (2 * $rate_mib)" | bc -l)
printf '| %s MiB | %s MiB/s each | %.1f s (**%.2f x** its bound, %.1f CPU-s) | %.1f s (**%.2f x** its bound, %.1f CPU-s) | %.2f |\n' \
  "$size_mib" "$rate_mib" "$one_wall" "$(echo "$one_wall / $one_bound" | bc -l)" "$one_cpu" \
  "$two_wall" "$(echo "$two_wall / $two_bound" | bc -l)" "$two_cpu" \
  "$(echo "$one_wall / $two_wall" | bc -l)"
