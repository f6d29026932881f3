# Sourced by the benchmarks that run real daemons on loopback (fetch_memory.sh, two_holders.sh).
# Before sourcing, set `bench` (the script's name, for messages) and `work_prefix` (the name of
# its temporary directory). Gives: $shoal (the binary), $work (a temporary directory removed at
# exit, with every daemon started through start_daemon stopped first), a network authority in
# $work/net, and the functions below.

die() { echo "$bench: $*" >&2; exit 1; }

shoal=$(bench/shoal_binary.sh) || die "cannot build shoal"

work=$(mktemp -d "${BENCH_DIR:-/tmp}/$work_prefix.XXXXXX")
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2> /dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# DATA_DIR NAME: a member of the network in $work/net, certified by its authority.
setup_node() {
  "$shoal" --data-dir "$1" init --network "$work/net/bench.cert" --name "$2" > /dev/null
  "$shoal" network sign "$1/identity/node.csr" --authority "$work/net/bench.key" \
    -o "$1/identity/signed.cert" > /dev/null
  "$shoal" --data-dir "$1" init --certificate "$1/identity/signed.cert" > /dev/null
}

# DATA_DIR PORT LOG [DAEMON ARGS...]: starts the daemon and waits until it listens; its pid is
# appended to pids.
start_daemon() {
  local dir=$1 port=$2 log=$3
  shift 3
  "$shoal" --data-dir "$dir" daemon --listen "127.0.0.1:$port" --http-listen 127.0.0.1:0 "$@" > "$log" 2>&1 &
  pids+=($!)
  local i
  for ((i = 0; ; i++)); do
    grep -q 'listening on' "$log" && return 0
    ((i < 100)) && kill -0 "${pids[-1]}" 2> /dev/null || { cat "$log" >&2; die "daemon on $port did not start"; }
    sleep 0.1
  done
}

# DATA_DIR HOST LOG ARGS...: the daemon in host HOST of testbed $name (scripts/testbed.sh, as
# $testbed), waited for until it listens.
spawn() {
  local dir=$1 host=$2 log=$3
  shift 3
  "$testbed" spawn "$name" "$host" "$log" -- "$shoal" --data-dir "$dir" daemon "$@" > /dev/null
  local i
  for ((i = 0; i < 200; i++)); do
    grep -q 'listening on' "$log" 2> /dev/null && return 0
    sleep 0.05
  done
  cat "$log" >&2
  die "the daemon in host $host did not start"
}

"$shoal" network create bench --out "$work/net" > /dev/null
