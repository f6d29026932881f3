#!/usr/bin/env bash
# Runs the simulator's recorded rows (bench/RESULTS.md, "The simulator") one after another and
# prints, per row, the command, the simulator's summary lines and the wall time and peak memory
# /usr/bin/time measured. Usage: bench/sim_rows.sh [swarm|swarm-1000|dht] (default: swarm).
# The 1,000-node rows take half an hour or more each here; the DHT rows a few minutes each.
set -euo pipefail
shoal=$("$(dirname "$0")/shoal_binary.sh")
set_name=${1:-swarm}
case $set_name in
  swarm)
    rows=("--nodes 30 --mib 256" "--nodes 60 --mib 256" "--nodes 100 --mib 256"
      "--nodes 100 --mib 256 --heterogeneous" "--nodes 100 --mib 256 --crash 0.1"
      "--nodes 100 --mib 64 --mixed" "--nodes 300 --mib 64")
    kind=swarm ;;
  swarm-1000)
    rows=("--nodes 1000 --mib 256" "--nodes 1000 --mib 256 --heterogeneous"
      "--nodes 1000 --mib 256 --crash 0.1" "--nodes 1000 --mib 1024")
    kind=swarm ;;
  dht)
    rows=("--nodes 10000 --lookups 10000"
      "--nodes 10000 --lookups 10000 --restart --partition 0.5")
    kind=dht ;;
  *) echo "usage: $0 [swarm|swarm-1000|dht]" >&2; exit 2 ;;
esac
for row in "${rows[@]}"; do
  echo "== shoal sim $kind $row"
  # shellcheck disable=SC2086 # the row is a list of flags
  /usr/bin/time -f "wall %e s, peak RSS %M KiB, CPU %P" "$shoal" sim "$kind" $row 2>&1 |
    grep -v '^seed '
done
