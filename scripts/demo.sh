#!/usr/bin/env bash
# The main job: builds Shoal and runs a small local network on loopback. An organization creates
# its network authority; two machines (two data directories) get certified node identities;
# node A adds a release tree and node B fetches it from A over TLS 1.3, every block verified,
# and writes it out atomically. Then a machine certified by another organization tries to fetch
# from A and is refused.
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

# start DIR PORT: runs the daemon in the background, logging to DIR.log, and waits for it.
start() {
  "$shoal" --data-dir "$1" daemon --listen "127.0.0.1:$2" >"$1.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 100); do
    [[ -S "$1/control.sock" ]] && return 0
    sleep 0.1
  done
  echo "the daemon in $1 did not start:"; cat "$1.log"; exit 1
}

echo "== the organization creates its network authority"
"$shoal" -q network create acme --out "$work/authority" >/dev/null
echo "   $work/authority/acme.key (owner-only) and acme.cert"

echo "== two machines join: each makes a key, the authority signs its request"
node "$work/node-a" node-a "$work/authority/acme"
node "$work/node-b" node-b "$work/authority/acme"

mkdir -p "$work/release-42/bin" "$work/release-42/models" "$work/release-42/empty-dir"
head -c $((48 * 1024 * 1024 + 12345)) /dev/urandom > "$work/release-42/models/weights.bin"
printf '#!/bin/sh\necho "release 42"\n' > "$work/release-42/bin/start.sh"
chmod +x "$work/release-42/bin/start.sh"
: > "$work/release-42/models/EMPTY"
echo "Shoal demo release" > "$work/release-42/README"

echo "== node A adds a 48 MiB release tree"
id=$("$shoal" -q --data-dir "$work/node-a" add "$work/release-42")
echo "   content ID: $id"

port_a=$(free_port)
port_b=$(free_port)
start "$work/node-a" "$port_a"
start "$work/node-b" "$port_b"
echo "== daemons: node-a on 127.0.0.1:$port_a, node-b on 127.0.0.1:$port_b"

echo "== node B fetches it from node A (TLS 1.3, both certificates checked, every block verified)"
start_ns=$(date +%s%N)
"$shoal" --data-dir "$work/node-b" get "$id" --from "127.0.0.1:$port_a" -o "$work/fetched" >/dev/null
end_ns=$(date +%s%N)
diff -r "$work/release-42" "$work/fetched" || { echo "   the copy differs"; exit 1; }
echo "   the copy matches the original, byte for byte"
[[ -x "$work/fetched/bin/start.sh" ]] || { echo "   the executable bit was lost"; exit 1; }
echo "   executable bit kept"
echo "   fetched in $(( (end_ns - start_ns) / 1000000 )) ms"
echo "== node B now holds"
"$shoal" --data-dir "$work/node-b" ls

echo "== a machine certified by another organization tries to fetch from node A"
"$shoal" -q network create other-org --out "$work/other-authority" >/dev/null
node "$work/node-x" node-x "$work/other-authority/other-org"
port_x=$(free_port)
start "$work/node-x" "$port_x"
if "$shoal" -q --data-dir "$work/node-x" get "$id" --from "127.0.0.1:$port_a" -o "$work/stolen" \
  2>"$work/x-get.err"; then
  echo "   unexpected: a foreign node fetched the content"; exit 1
fi
echo "   node-x was told: $(tail -1 "$work/x-get.err")"
echo "   node-a logged:   $(grep -m1 -i refused "$work/node-a.log" | sed 's/^\[[^]]*\] //' || true)"
[[ ! -e "$work/stolen" ]] || { echo "   unexpected: output written at node-x"; exit 1; }
echo "   nothing was written at node-x"

echo "== demo done"
