#!/usr/bin/env bash
# Calibration of the simulator against the testbed (issue 19, item 5): the same setting in both,
# one origin and N fetching hosts, every host shaped to RATE up and down, and per cell the last
# host's time in each and their ratio. The testbed half is bench/swarm_vs_http.sh without its
# HTTP baseline (real daemons in network namespaces, tbf shaping, jumbo frames); the simulator
# half is `shoal sim swarm` with the testbed's capacities, its MTU (TLS records and packet
# headers charged to the links) and its latency (a veth pair: tens of microseconds).
# Prints a Markdown table for bench/RESULTS.md.
# Usage: bench/calibrate.sh [SIZES_MIB="64 256"] [RATE_MBIT=40] [NS="4 8 16"]
# Env: SHOAL=PATH uses that binary instead of building the release preset; SEEDS (default
#      "1 2 3") are the simulator's seeds, whose mean is the simulator's figure.
# Needs root and `ip netns` (scripts/testbed.sh check says why not).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-"64 256"}
rate_mbit=${2:-40}
ns_list=${3:-"4 8 16"}
seeds=${SEEDS:-"1 2 3"}
mtu=${TESTBED_MTU:-9000}

die() { echo "calibrate: $*" >&2; exit 1; }
shoal=$(bench/shoal_binary.sh) || die "cannot build shoal"
out=$(mktemp -d "${BENCH_DIR:-/tmp}/shoal-calibrate.XXXXXX")
trap 'rm -rf "$out"' EXIT

echo "| F (MiB) | N | testbed, last host (s) | simulator, last host (s) | sim / testbed | testbed CPU busy |"
echo "|---|---|---|---|---|---|"
for f in $sizes; do
  # The testbed's table: column 2 is the last host's time, the last column the CPU.
  SKIP_HTTP=1 SHOAL=$shoal TESTBED_MTU=$mtu bench/swarm_vs_http.sh "$f" "$rate_mbit" "$ns_list" \
    > "$out/testbed-$f.md" || die "the testbed run of $f MiB failed"
  for n in $ns_list; do
    row=$(awk -F'|' -v n="$n" '$2 + 0 == n && $2 ~ /[0-9]/ {print $3 "|" $(NF-1)}' \
      "$out/testbed-$f.md")
    tb=$(echo "$row" | cut -d'|' -f1 | tr -d ' ')
    cpu=$(echo "$row" | cut -d'|' -f2 | tr -d ' ')
    [[ -n $tb ]] || die "no testbed figure for N=$n, $f MiB"
    sims=()
    for seed in $seeds; do
      sims+=("$("$shoal" --json sim swarm --seed "$seed" --nodes "$n" --mib "$f" \
        --origin-up "$rate_mbit" --up "$rate_mbit" --down "$rate_mbit" \
        --min-latency-ms 0.03 --max-latency-ms 0.03 --mtu "$mtu" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["last_seconds"])')")
    done
    python3 - "$f" "$n" "$tb" "$cpu" "${sims[@]}" << 'PY'
import sys
f, n, tb, cpu = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
sims = [float(x) for x in sys.argv[5:]]
sim = sum(sims) / len(sims)
print(f"| {f} | {n} | {tb:.1f} | {sim:.1f} ({min(sims):.1f} to {max(sims):.1f}) | {sim / tb:.2f} | {cpu} |")
PY
  done
done
