#!/usr/bin/env bash
# Import speed: `shoal add` of a file in page cache against `openssl dgst -sha256` of the same
# file (OpenSSL's SHA-256 with the CPU's SHA extensions: the fastest hash a user has at hand;
# Debian's sha256sum runs at about a quarter of its speed here), in the same run, alternating,
# median of ROUNDS. Prints a Markdown row for bench/RESULTS.md, CPU seconds of each beside it.
# Usage: bench/add_vs_openssl.sh [SIZE_MIB=1024] [ROUNDS=5]
# Note that shoal add also copies the bytes into its store (openssl writes nothing).
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

TIMEFORMAT='%3R %3U %3S'  # wall, user and system seconds
sha_times=() shoal_times=() sha_cpu=() shoal_cpu=()
for ((r = 1; r <= rounds; r++)); do
  sync
  read -r wall user sys < <({ time openssl dgst -sha256 "$work/input.bin" > /dev/null; } 2>&1)
  sha_times+=("$wall") sha_cpu+=("$(echo "$user + $sys" | bc -l)")
  rm -rf "$work/store"; sync
  read -r wall user sys < <({ time "$shoal" --data-dir "$work/store" -q add "$work/input.bin" > /dev/null; } 2>&1)
  shoal_times+=("$wall") shoal_cpu+=("$(echo "$user + $sys" | bc -l)")
  echo "round $r: openssl dgst ${sha_times[-1]} s (CPU ${sha_cpu[-1]} s), shoal add ${shoal_times[-1]} s (CPU ${shoal_cpu[-1]} s)" >&2
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
sha=$(median "${sha_times[@]}")
add=$(median "${shoal_times[@]}")
ratio=$(echo "$sha / $add" | bc -l)
gibs() { echo "$size_mib / 1024 / $1" | bc -l; }
printf '| %s MiB | %.2f s (%.2f GiB/s), CPU %.2f s | %.2f s (%.2f GiB/s), CPU %.2f s | **%.2f x** |\n' \
  "$size_mib" "$add" "$(gibs "$add")" "$(median "${shoal_cpu[@]}")" "$sha" "$(gibs "$sha")" \
  "$(median "${sha_cpu[@]}")" "$ratio"
