#!/usr/bin/env bash
# Memory of fetching daemons: one origin daemon serves a file of SIZE_MIB; FETCHERS daemons
# fetch it at once over loopback (`shoal get --from`, every block verified, written to the
# store and to an output file). Reports, per fetcher, its peak resident memory (VmHWM) and its
# resident memory once the fetch is over (VmRSS), the origin's peak, and the wall time, against
# the target of 64 MiB for any process moving a 4 GiB file (../shared/brief/PRODUCT.md).
# Prints a Markdown row for bench/RESULTS.md; details go to stderr.
# Usage: bench/fetch_memory.sh [SIZE_MIB=4096] [FETCHERS=1]
# Env: BENCH_DIR (parent of the temporary work dir, default /tmp); SHOAL=PATH uses that binary.
# Needs about (2 + 2 x FETCHERS) x SIZE_MIB of free disk in BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-4096}
fetchers=${2:-1}

bench=fetch_memory work_prefix=shoal-memory-bench
# shellcheck source=bench/daemons.sh
source bench/daemons.sh

kib_of() {  # PID FIELD: a /proc/PID/status field in KiB
  awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}
mib() { echo "scale=1; $1 / 1024" | bc -l; }

setup_node "$work/origin" origin
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$work/input.bin"
id=$("$shoal" --data-dir "$work/origin" -q add "$work/input.bin")
rm -f "$work/input.bin"  # the origin's store holds it; the disk is needed for the copies
origin_port=$(free_port)
start_daemon "$work/origin" "$origin_port" "$work/origin.log"
origin_pid=${pids[-1]}
fetcher_pids=()
for ((i = 1; i <= fetchers; i++)); do
  setup_node "$work/f$i" "f$i"
  start_daemon "$work/f$i" "$(free_port)" "$work/f$i.log"
  fetcher_pids+=("${pids[-1]}")
done
echo "fetch_memory: $size_mib MiB to $fetchers fetcher(s); RSS at start:" \
  "$(for p in "${fetcher_pids[@]}"; do echo -n "$(mib "$(kib_of "$p" VmRSS)") MiB "; done)" >&2

start=$(date +%s.%N)
get_pids=()
for ((i = 1; i <= fetchers; i++)); do
  "$shoal" --data-dir "$work/f$i" -q get "$id" --from "127.0.0.1:$origin_port" \
    -o "$work/out$i.bin" > /dev/null 2> "$work/get$i.err" &
  get_pids+=($!)
done
for ((i = 1; i <= fetchers; i++)); do
  wait "${get_pids[i - 1]}" || { cat "$work/get$i.err" >&2; tail "$work/f$i.log" >&2; die "get $i failed"; }
done
wall=$(echo "$(date +%s.%N) - $start" | bc -l)
sleep 1  # the daemons finish their bookkeeping (and give memory back)

peaks=() afters=()
for ((i = 1; i <= fetchers; i++)); do
  p=${fetcher_pids[i - 1]}
  peaks+=("$(mib "$(kib_of "$p" VmHWM)")")
  afters+=("$(mib "$(kib_of "$p" VmRSS)")")
  [[ $(stat -c %s "$work/out$i.bin") == $((size_mib * 1024 * 1024)) ]] || die "out$i.bin has the wrong size"
  echo "fetch_memory: fetcher $i: peak ${peaks[-1]} MiB, after ${afters[-1]} MiB" >&2
done
origin_peak=$(mib "$(kib_of "$origin_pid" VmHWM)")
max_peak=$(printf '%s\n' "${peaks[@]}" | sort -g | tail -1)
printf '| %s MiB | %s | %.1f s | %s MiB (**%.2f x** the 64 MiB target) | %s MiB | %s MiB |\n' \
  "$size_mib" "$fetchers" "$wall" "$max_peak" "$(echo "$max_peak / 64" | bc -l)" \
  "$(printf '%s\n' "${afters[@]}" | sort -g | tail -1)" "$origin_peak"
