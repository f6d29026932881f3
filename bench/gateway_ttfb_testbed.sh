#!/usr/bin/env bash
# Time to the last byte of a range at the end of a content not held, through the gateway, on
# the network testbed (issue 21, item 6): two hosts in network namespaces on a bridge, each
# host's upload and download shaped to RATE with tbf (scripts/testbed.sh). Host 0 holds a random
# file of SIZE_MIB; host 1's daemon is asked over its gateway (curl inside host 1, on its
# loopback) for the last MiB. It finds the holder through the DHT and asks for those pieces
# first, so the range arrives long before the whole content could. The bound it is compared
# with: the whole content at RATE.
# Usage: bench/gateway_ttfb_testbed.sh [SIZE_MIB=1024] [RATE=40mbit]    (root; RATE in mbit or gbit)
# Env: BENCH_DIR (parent of the temporary work dir), SHOAL=PATH (a shoal binary to use).
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
rate=${2:-40mbit}
bench=gateway_ttfb_testbed
work_prefix=shoal-gateway-ttfb
testbed=scripts/testbed.sh
name=tbgwttfb
"$testbed" check > /dev/null || { echo "$bench: the testbed cannot run here: $("$testbed" check 2>&1)" >&2; exit 1; }
source bench/daemons.sh
# The testbed goes down first (it stops the daemons it spawned), then daemons.sh's cleanup.
cleanup_all() {
  "$testbed" down "$name" > /dev/null 2>&1 || true
  cleanup
}
trap cleanup_all EXIT

case $rate in
  *gbit) rate_bits=$(echo "${rate%gbit} * 1000000000" | bc) ;;
  *mbit) rate_bits=$(echo "${rate%mbit} * 1000000" | bc) ;;
  *) die "RATE must end in mbit or gbit, not $rate" ;;
esac

"$testbed" down "$name" > /dev/null 2>&1 || true
"$testbed" up "$name" 2 "$rate" > /dev/null
head -c $((size_mib * 1024 * 1024)) /dev/urandom > "$work/input.bin"
setup_node "$work/a" a
setup_node "$work/b" b
id=$("$shoal" -q --data-dir "$work/a" add "$work/input.bin")
a_addr=$("$testbed" addr 0)
b_addr=$("$testbed" addr 1)

spawn "$work/a" 0 "$work/a.log" --listen "$a_addr:7420" --http-listen off
spawn "$work/b" 1 "$work/b.log" --listen "$b_addr:7420" --http-listen 127.0.0.1:7421 \
  --bootstrap "$a_addr:7420"

last=$((size_mib * 1024 * 1024 - 1048576))
out=$("$testbed" exec "$name" 1 curl -sS -r "$last-" -o "$work/tail.bin" \
  -w '%{time_starttransfer} %{time_total}' "http://127.0.0.1:7421/content/$id") ||
  die "the gateway did not answer: $(tail -5 "$work/b.log")"
cmp <(tail -c 1048576 "$work/input.bin") "$work/tail.bin" || die "the last MiB differs"
read -r ttfb total <<< "$out"
whole=$(echo "$size_mib * 1048576 * 8 / $rate_bits" | bc -l)
printf '| last MiB of %s MiB not held, testbed, every link %s | first byte %.2f s, last %.2f s | whole content at the link rate: %.1f s | **%.4f** of it |\n' \
  "$size_mib" "$rate" "$ttfb" "$total" "$whole" "$(echo "$total / $whole" | bc -l)"
