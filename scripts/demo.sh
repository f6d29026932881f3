#!/usr/bin/env bash
# The main job: builds Shoal and runs a small local network on loopback. An organization creates
# its network authority; five machines (five data directories) get certified node identities
# and run daemons whose upload is limited to 80 Mbit/s each, each told of one other member. The
# origin adds a release tree and the four others fetch it at once by its ID alone, finding the
# holders through the DHT: they fetch from each other while they fetch, every block
# verified, and each writes the tree out atomically. A live view shows each node's progress and
# how much came from the swarm; then, for comparison, the same nodes fetch a tree of the same
# size from the origin alone under the same limits. Finally a machine certified by another
# organization tries to fetch from the origin and is refused, and the authority revokes a member:
# every other member cuts it off, and its daemon stops.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target shoal
shoal=$PWD/build/release/apps/shoal/shoal

work=$(mktemp -d /tmp/shoal-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
echo "== demo in $work"

# A free loopback port for each daemon (bound and released at once; good enough for a demo).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# node DIR NAME AUTHORITY: a certified node identity in DIR, issued by AUTHORITY.
node() {
  "$shoal" -q --data-dir "$1" init --network "$3.cert" --name "$2" >/dev/null
  "$shoal" -q --data-dir "$1" network sign "$1/identity/node.csr" --authority "$3.key" \
    --expires-in 1d --label site=demo >/dev/null
  "$shoal" -q --data-dir "$1" init --certificate "$1/identity/node.cert" >/dev/null
  echo "   $2: node ID $("$shoal" --data-dir "$1" id | awk '/^node ID:/ {print $3}')"
}

# start DIR PORT [ARGS...]: runs the daemon in the background, logging to DIR.log, and waits
# for it.
start() {
  local dir=$1 port=$2
  shift 2
  "$shoal" --data-dir "$dir" daemon --listen "127.0.0.1:$port" --http-listen 127.0.0.1:0 "$@" >"$dir.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 100); do
    [[ -S "$dir/control.sock" ]] && return 0
    sleep 0.1
  done
  echo "the daemon in $dir did not start:"; cat "$dir.log"; exit 1
}

# tree DIR SEED: a release tree: 32 MiB of model weights and a few small files.
tree() {
  mkdir -p "$1/bin" "$1/models" "$1/empty-dir"
  python3 -c "import random,sys; sys.stdout.buffer.write(random.Random($2).randbytes(32*1024*1024+12345))" \
    > "$1/models/weights.bin"
  printf '#!/bin/sh\necho "%s"\n' "$(basename "$1")" > "$1/bin/start.sh"
  chmod +x "$1/bin/start.sh"
  : > "$1/models/EMPTY"
  echo "Shoal demo $(basename "$1")" > "$1/README"
}

echo "== the organization creates its network authority"
"$shoal" -q network create acme --out "$work/authority" >/dev/null
echo "   $work/authority/acme.key (owner-only) and acme.cert"

echo "== five machines join: each makes a key, the authority signs its request"
fetchers=(node-1 node-2 node-3 node-4)
for n in origin "${fetchers[@]}"; do node "$work/$n" "$n" "$work/authority/acme"; done

echo "== the origin adds two release trees of 32 MiB"
tree "$work/release-42" 42
tree "$work/release-41" 41
id42=$("$shoal" -q --data-dir "$work/origin" add "$work/release-42")
id41=$("$shoal" -q --data-dir "$work/origin" add "$work/release-41")
echo "   release-42: $id42"
echo "   release-41: $id41"

limit=80mbit
declare -A port
# Each daemon joins the DHT through the one started before it (the origin through none).
previous=
for n in origin "${fetchers[@]}"; do
  port[$n]=$(free_port)
  start "$work/$n" "${port[$n]}" --upload-limit "$limit" ${previous:+--bootstrap "127.0.0.1:$previous"}
  previous=${port[$n]}
done
echo "== five daemons on 127.0.0.1, each with its upload limited to $limit (origin on port ${port[origin]});"
echo "   each knows one other (--bootstrap) and finds the rest through the DHT"

# fetch_all ID PREFIX [--origin-only]: every fetcher gets ID at once, under the live view: by its
# ID alone (the holders are found in the DHT), or with --origin-only from the origin alone.
fetch_all() {
  local id=$1 prefix=$2 mode=${3:-} gets=() n i view=() from=()
  [[ -z $mode ]] || from=(--from "127.0.0.1:${port[origin]}")
  for n in "${fetchers[@]}"; do
    # shellcheck disable=SC2086  # $mode is empty or one flag
    "$shoal" --json --data-dir "$work/$n" get "$id" "${from[@]}" \
      -o "$work/$prefix-$n" $mode >"$work/$prefix-$n.json" 2>"$work/$prefix-$n.err" &
    gets+=("$!")
    view+=("$n=$work/$n")
  done
  python3 scripts/swarm_view.py "$shoal" 1 "$(IFS=,; echo "${gets[*]}")" "127.0.0.1:${port[origin]}" \
    "${view[@]}"
  for i in "${!gets[@]}"; do
    if ! wait "${gets[$i]}"; then
      echo "   ${fetchers[$i]}: get failed:"; cat "$work/$prefix-${fetchers[$i]}.err"; exit 1
    fi
  done
}

# report TREE PREFIX: checks every copy against TREE and says where each node's bytes came from.
report() {
  local n
  for n in "${fetchers[@]}"; do
    diff -r "$1" "$work/$2-$n" >/dev/null || { echo "   $n: the copy differs"; exit 1; }
    [[ -x "$work/$2-$n/bin/start.sh" ]] || { echo "   $n: the executable bit was lost"; exit 1; }
    python3 - "$work/$2-$n.json" "$n" "127.0.0.1:${port[origin]}" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
mib = 1 << 20
origin = d["from"].get(sys.argv[3], 0)  # bytes per address, as dialed
found = d.get("discovery", {}).get("holders_found", 0)
how = f" (found {found} holders in the DHT)" if found else ""
print(f"   {sys.argv[2]}: identical copy in {d['seconds']:4.1f} s; {origin / mib:4.1f} MiB"
      f" from the origin, {(d['received_bytes'] - origin) / mib:4.1f} MiB from the other nodes{how}")
PY
  done
}

echo "== the four nodes fetch release-42 at once, by its ID alone: the swarm (TLS 1.3, every block verified)"
echo "   (each second: per node, the share stored, its download rate, and the share of its bytes that"
echo "   came from the other nodes rather than the origin)"
fetch_all "$id42" swarm
report "$work/release-42" swarm

echo "== for comparison: release-41 (same size) from the origin alone, under the same limits"
fetch_all "$id41" alone --origin-only
report "$work/release-41" alone

echo "== summary"
python3 - "$work" "$(du -sb "$work/release-42" | cut -f1)" "${fetchers[@]}" <<'PY'
import json, sys
work, size, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
n = len(names)
# The time until the last node was done, as each daemon measured it: from the request to the
# verified copy written out.
last = lambda prefix: max(json.load(open(f"{work}/{prefix}-{m}.json"))["seconds"] for m in names)
swarm, alone = last("swarm"), last("alone")
u = 80e6 / 8  # every node's upload limit, bytes per second
d_p2p = max(size / u, n * size / (u + n * u))  # the fluid lower bound with a swarm
d_cs = n * size / u                             # ... and from the origin alone
print(f"   swarm:       last node done after {swarm:5.1f} s (lower bound {d_p2p:4.1f} s: ratio {swarm / d_p2p:.2f})")
print(f"   origin only: last node done after {alone:5.1f} s (lower bound {d_cs:4.1f} s: ratio {alone / d_cs:.2f})")
print(f"   the swarm was {alone / swarm:.1f}x faster: its time stays near one copy's while the origin"
      f" alone needs {n} copies' time")
PY
echo "== the origin's view"
"$shoal" --data-dir "$work/origin" status | sed -n '3,4p'

echo "== a machine certified by another organization tries to fetch from the origin"
"$shoal" -q network create other-org --out "$work/other-authority" >/dev/null
node "$work/node-x" node-x "$work/other-authority/other-org"
port_x=$(free_port)
start "$work/node-x" "$port_x"
if "$shoal" -q --data-dir "$work/node-x" get "$id42" --from "127.0.0.1:${port[origin]}" \
  -o "$work/stolen" 2>"$work/x-get.err"; then
  echo "   unexpected: a foreign node fetched the content"; exit 1
fi
echo "   node-x was told: $(tail -1 "$work/x-get.err")"
echo "   the origin logged: $(grep -m1 -i refused "$work/origin.log" | sed 's/^\[[^]]*\] //' || true)"
[[ ! -e "$work/stolen" ]] || { echo "   unexpected: output written at node-x"; exit 1; }
echo "   nothing was written at node-x"

echo "== a laptop is lost: the authority revokes ${fetchers[-1]}"
lost=${fetchers[-1]}
lost_id=$("$shoal" --data-dir "$work/$lost" id | awk '/^node ID:/ {print $3}')
"$shoal" --data-dir "$work/origin" network revoke "$lost_id" --authority "$work/authority/acme.key" \
  --reason "laptop lost" | sed 's/^/   /'
for _ in $(seq 100); do
  [[ -S "$work/$lost/control.sock" ]] || break
  sleep 0.05
done
[[ ! -S "$work/$lost/control.sock" ]] || { echo "   unexpected: $lost still runs"; exit 1; }
echo "   $lost logged: $(grep -m1 "certificate is revoked" "$work/$lost.log" | cut -d' ' -f3- | cut -c1-150)"
echo "   ${fetchers[0]} holds: $("$shoal" --data-dir "$work/${fetchers[0]}" network revocations | head -1)"
if "$shoal" --data-dir "$work/$lost" daemon --listen 127.0.0.1:0 --http-listen off 2>"$work/again.err"; then
  echo "   unexpected: the revoked node started again"; exit 1
fi
echo "   started again, it says: $(cut -c1-120 "$work/again.err")..."

echo "== demo done"
