#!/usr/bin/env bash
# Import speed: `shoal add` of a file in page cache against `sha256sum` of the same file, in the
# same run, alternating, median of ROUNDS. Prints a Markdown row for bench/RESULTS.md.
# Usage: bench/add_vs_sha256sum.sh [SIZE_MIB=1024] [ROUNDS=5]
# Note that shoal add also copies the bytes into its store (sha256sum writes nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
rounds=${2:-5}

cmake --preset release >/dev/null
cmake --build --preset release --target shoal >/dev/null
shoal=$PWD/build/release/apps/shoal/shoal

work=$(mktemp -d "${BENCH_DIR:-/tmp}/shoal-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$work/input.bin"
cat "$work/input.bin" > /dev/null  # into the page cache

now() { date +%s.%N; }
sha_times=() shoal_times=()
for ((r = 1; r <= rounds; r++)); do
  sync
  t0=$(now); sha256sum "$work/input.bin" > /dev/null; t1=$(now)
  sha_times+=("$(echo "$t1 - $t0" | bc -l)")
  rm -rf "$work/store"; sync
  t0=$(now); "$shoal" --data-dir "$work/store" -q add "$work/input.bin" > /dev/null; t1=$(now)
  shoal_times+=("$(echo "$t1 - $t0" | bc -l)")
  echo "round $r: sha256sum ${sha_times[-1]} s, shoal add ${shoal_times[-1]} s" >&2
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
sha=$(median "${sha_times[@]}")
add=$(median "${shoal_times[@]}")
ratio=$(echo "$sha / $add" | bc -l)
gibs() { echo "$size_mib / 1024 / $1" | bc -l; }
printf '| %s MiB | %.2f s (%.2f GiB/s) | %.2f s (%.2f GiB/s) | **%.2f x** |\n' \
  "$size_mib" "$add" "$(gibs "$add")" "$sha" "$(gibs "$sha")" "$ratio"
