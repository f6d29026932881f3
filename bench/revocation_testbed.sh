#!/usr/bin/env bash
# Time from `shoal network revoke` until every member holds the list (and so refuses the
# revoked node) and the revoked node is cut off everywhere and has stopped, on the network
# testbed (issue 23, item 5): HOSTS hosts in network namespaces on a bridge, each link shaped
# to RATE with tbf (scripts/testbed.sh). Host 0 is every other host's bootstrap peer; the last
# host is revoked while it fetches a content from host 0, so a live transfer is cut too. The
# list is handed to host 0's daemon; times come from the daemons' log timestamps (one clock:
# all hosts are on this machine).
# Usage: bench/revocation_testbed.sh [HOSTS=16] [RATE=40mbit]    (root)
# Env: BENCH_DIR (parent of the temporary work dir), SHOAL=PATH (a shoal binary to use).
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-16}
rate=${2:-40mbit}
bench=revocation_testbed
work_prefix=shoal-revocation
testbed=scripts/testbed.sh
name=tbrevoke
"$testbed" check > /dev/null || { echo "$bench: the testbed cannot run here: $("$testbed" check 2>&1)" >&2; exit 1; }
((hosts >= 3 && hosts <= 32)) || { echo "$bench: HOSTS must be 3 to 32" >&2; exit 2; }
source bench/daemons.sh
cleanup_all() {
  "$testbed" down "$name" > /dev/null 2>&1 || true
  cleanup
}
trap cleanup_all EXIT

"$testbed" down "$name" > /dev/null 2>&1 || true
"$testbed" up "$name" "$hosts" "$rate" > /dev/null
last=$((hosts - 1))
for ((i = 0; i < hosts; i++)); do setup_node "$work/n$i" "n$i"; done
head -c $((256 * 1024 * 1024)) /dev/urandom > "$work/input.bin"
id=$("$shoal" -q --data-dir "$work/n0" add "$work/input.bin")
boot=$("$testbed" addr 0):7420

spawn "$work/n0" 0 "$work/n0.log" --listen "$boot" --http-listen off
for ((i = 1; i < hosts; i++)); do
  spawn "$work/n$i" "$i" "$work/n$i.log" --listen "$("$testbed" addr "$i"):7420" \
    --http-listen off --bootstrap "$boot"
done
for ((i = 1; i < hosts; i++)); do
  for ((t = 0; t < 100; t++)); do
    grep -q 'joined the DHT' "$work/n$i.log" && break
    sleep 0.05
  done
done
# The last host fetches from host 0 (about a minute at 40 Mbit/s); it is revoked 3 s in.
"$shoal" --data-dir "$work/n$last" get "$id" -o "$work/out.bin" --detach > /dev/null 2>&1
sleep 3
x=$("$shoal" --json --data-dir "$work/n$last" id | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
t0=$(date +%s.%N)
"$shoal" --data-dir "$work/n0" network revoke "$x" --authority "$work/net/bench.key" \
  --reason benchmark > /dev/null
for ((t = 0; t < 200; t++)); do
  grep -q '^.*stopped$' "$work/n$last.log" && break
  sleep 0.05
done
sleep 2  # members that learn it late still get the time to log it
python3 - "$t0" "$hosts" "$work" "$rate" << 'PY'
import datetime, sys
t0, hosts, work, rate = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
def when(line):
    ts = line.split()[0]
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() - t0
adopted, cuts = [], []
for i in range(hosts - 1):
    lines = open(f"{work}/n{i}.log").read().splitlines()
    a = [when(l) for l in lines if "revocation list 1 adopted" in l]
    if not a:
        sys.exit(f"host {i} never adopted the list")
    adopted.append(a[0])
    cuts += [when(l) for l in lines if "its certificate is revoked" in l]
lines = open(f"{work}/n{hosts - 1}.log").read().splitlines()
learned = [when(l) for l in lines if "this node's certificate is revoked" in l]
stopped = [when(l) for l in lines if l.endswith(" stopped")]
if not learned or not stopped:
    sys.exit("the revoked host did not learn it and stop")
adopted.sort()
print(f"| {hosts} hosts, every link {rate}: revoke to every member holding the list | median {adopted[len(adopted)//2]:.3f} s, "
      f"last **{adopted[-1]:.3f} s** | {len(cuts)} connections to the revoked node cut, the last "
      f"at {max(cuts) if cuts else 0:.3f} s | the revoked node learned it at {learned[0]:.3f} s, "
      f"stopped at {stopped[0]:.3f} s |")
PY
