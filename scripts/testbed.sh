#!/usr/bin/env bash
# A small emulated network for tests and benchmarks: HOSTS network namespaces, each with one
# veth link to a Linux bridge that lives in a hub namespace of its own, optionally shaped with
# tbf in both directions. Everything lives in namespaces that this script creates, so the
# machine's own (root) network namespace is never touched, and the hosts have no default
# route: traffic to any address outside 10.77.0.0/24 fails with "Network is unreachable".
#
#   scripts/testbed.sh check
#   scripts/testbed.sh up NAME HOSTS RATE          # RATE: a tc rate (40mbit, 1gbit, ...) or 0
#   scripts/testbed.sh addr I
#   scripts/testbed.sh spawn NAME I LOG -- CMD [ARGS...]
#   scripts/testbed.sh exec NAME I CMD [ARGS...]
#   scripts/testbed.sh down NAME
#
# See docs/testbed.md for the picture, the shaping parameters and the measured throughput.
set -euo pipefail

readonly STATE_ROOT=/run/shoal-testbed
readonly MAX_HOSTS=32
readonly SUBNET=10.77.0
# Smallest tbf bucket, in bytes. veth hands TCP's GSO/TSO segments (up to 64 KiB of payload,
# gso_max_size 65536) to the qdisc unsplit, and tbf charges such a segment as if its headers
# were repeated per wire packet, about 68 KiB for a full one. A bucket smaller than that makes
# tbf split every large segment in software (tbf_segment), and a bucket of exactly one segment
# only lets one out when it is completely full. Shaped hosts send single packets anyway (see
# GSO_SEGS below), but the floor keeps tbf correct for anything that still arrives as a large
# segment, and 128 KiB measured no worse than smaller buckets (docs/testbed.md).
readonly MIN_BURST=$((128 * 1024))
# The bucket also holds at least BURST_MS of traffic at RATE, so that at high rates a refill
# still covers several packets between two tbf timer wake-ups.
readonly BURST_MS=4
# How long a packet may wait in tbf's queue; tc turns it into the queue size
# (limit = RATE x latency + burst). 50 ms is a plausible access-link buffer: deep enough that
# TCP keeps the link full (the veth round trip is tens of microseconds, so its
# bandwidth-delay product is tiny), shallow enough that a congested link does not add
# seconds of delay. It matters where several senders converge on one host's download (h<i>);
# a host's own upload queue stays short because of TSQ_BYTES below.
readonly LATENCY=50ms
# The upload shaper sits in the sending host's own stack, so TCP Small Queues (TSQ) decide how
# many bytes each socket keeps in it, and tbf's FIFO then serves sockets in proportion to what
# each one queued. Left alone, TSQ lets a socket queue about two of its own segments or 1 ms at
# its own pacing rate, and TCP sizes segments from the pacing rate too: a flow that got ahead
# sends bigger segments, queues more and stays ahead. Measured with two hosts downloading from
# one, the split was 32/6 Mbit/s (BBR) and 37/2 (Reno) instead of 19/19. Two per-namespace
# settings on shaped hosts make every flow queue the same amount, which gives an even split for
# BBR, CUBIC and Reno alike (docs/testbed.md):
#  - eth0 gso_max_segs 1: every segment TCP hands down is one packet, whatever its rate;
#  - net.ipv4.tcp_limit_output_bytes: caps TSQ (for CUBIC and Reno; BBR paces itself and is
#    not capped, but with one-packet segments its allowance is equal too) at about two packets.
readonly GSO_SEGS=1
readonly TSQ_BYTES=4096
# Jumbo frames (9000 bytes, as data-centre networks commonly use; TESTBED_MTU overrides it).
# With one-packet segments, the kernel's per-packet work (veth, bridge, two tbf queues) is what
# a shaped testbed costs; at 1500 bytes, 17 hosts at 40 Mbit/s kept both cores of the
# benchmark machine busy with softirq work alone (docs/testbed.md), and the machine, not the
# links, set the pace. 9000-byte packets cut that work six-fold.
readonly MTU=${TESTBED_MTU:-9000}

prog=${0##*/}

die() {
  echo "$prog: $*" >&2
  exit 1
}

usage() {
  cat >&2 <<EOF
usage: $prog check
       $prog up NAME HOSTS RATE          (RATE: a tc rate such as 40mbit, or 0 for unshaped)
       $prog addr I
       $prog spawn NAME I LOG -- CMD [ARGS...]
       $prog exec NAME I CMD [ARGS...]
       $prog down NAME
EOF
  exit 2
}

# NAME becomes part of namespace and directory names and of a regular expression in `down`, so
# only letters, digits and '-' are allowed; it must not start with '-' so that it can never be
# read as an option. Eight characters keep "NAME-hub" short.
check_name() {
  [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,7}$ ]] ||
    die "bad testbed name '$1': use 1 to 8 letters, digits or '-', not starting with '-'"
}

# Host indexes are plain decimals without leading zeros (bash would read "08" as bad octal).
check_index() {
  if ! [[ $1 =~ ^(0|[1-9][0-9]?)$ ]] || (($1 >= MAX_HOSTS)); then
    die "bad host index '$1': expected 0..$((MAX_HOSTS - 1))"
  fi
}

# A testbed's namespaces are exactly NAME-hub and NAME-<number>. Matching that exactly (rather
# than NAME-*) keeps `down a` away from a testbed called "a-1", whose namespaces are
# "a-1-hub", "a-1-0", ...
ns_regex() { printf '^%s-(hub|0|[1-9][0-9]*)$' "$1"; }

# Prints the existing namespaces of testbed $1, one a line.
list_namespaces() {
  local re line
  re=$(ns_regex "$1")
  # `ip netns list` prints "name (id: N)" once an id is assigned; the name is the first word.
  ip netns list 2>/dev/null | while read -r line _; do
    if [[ $line =~ $re ]]; then printf '%s\n' "$line"; fi
  done
}

ns_exists() { [[ -e /run/netns/$1 ]]; }

need_root() {
  local uid
  uid=$(id -u)
  ((uid == 0)) || die "testbed needs root (uid $uid)"
}

# Converts a tc rate (a number with an optional unit, as in tc(8)) to bits per second on stdout;
# fails on anything else so that a typo is reported here and not as a tc error halfway up.
rate_to_bits() {
  local rate=${1,,} num unit mult
  [[ $rate =~ ^([0-9]+(\.[0-9]+)?)([a-z]*)$ ]] || return 1
  num=${BASH_REMATCH[1]}
  unit=${BASH_REMATCH[3]}
  case $unit in
    '' | bit) mult=1 ;;
    kbit) mult=1000 ;;
    mbit) mult=1000000 ;;
    gbit) mult=1000000000 ;;
    tbit) mult=1000000000000 ;;
    kibit) mult=1024 ;;
    mibit) mult=1048576 ;;
    gibit) mult=1073741824 ;;
    tibit) mult=1099511627776 ;;
    bps) mult=8 ;;
    kbps) mult=8000 ;;
    mbps) mult=8000000 ;;
    gbps) mult=8000000000 ;;
    tbps) mult=8000000000000 ;;
    kibps) mult=8192 ;;
    mibps) mult=8388608 ;;
    gibps) mult=8589934592 ;;
    tibps) mult=8796093022208 ;;
    *) return 1 ;;
  esac
  awk -v n="$num" -v m="$mult" 'BEGIN { printf "%.0f\n", n * m }'
}

# Reads /proc/PID/stat into the globals proc_state and proc_start (field 22, the start time in
# clock ticks since boot). The command name (field 2) may hold spaces and parentheses, so
# fields are counted from the last ')'. Fails when there is no such process.
proc_state=''
proc_start=''
read_proc() {
  local stat rest
  local -a f
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $stat ]] || return 1
  rest=${stat##*) }
  read -ra f <<<"$rest"
  proc_state=${f[0]}
  proc_start=${f[19]}
}

# True while PID $1 runs. A zombie counts as gone: it has already exited, and on this kind of
# machine PID 1 may be slow to reap orphans, so waiting for zombies would always time out.
alive() {
  read_proc "$1" || return 1
  [[ $proc_state != Z ]]
}

# Prints this script's pid and its ancestors', so that `down`, when run from inside one of the
# testbed's namespaces, does not kill itself or the shell that called it. Bounded: pid chains
# are short, and 64 steps is far more than any real chain.
self_and_ancestors() {
  local pid=$$ ppid _i
  for _i in $(seq 64); do
    printf '%s\n' "$pid"
    ((pid > 1)) || break
    ppid=$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || break
    [[ -n $ppid && $ppid != "$pid" ]] || break
    pid=$ppid
  done
}

# ---------------------------------------------------------------------------------------------
# check

check_fail() {
  echo "$1"
  exit 77
}

cmd_check() {
  (($# == 0)) || usage
  local uid err probe
  uid=$(id -u)
  ((uid == 0)) || check_fail "testbed needs root (uid $uid)"
  command -v ip >/dev/null || check_fail "testbed needs ip (iproute2), not found in PATH"
  command -v tc >/dev/null || check_fail "testbed needs tc (iproute2), not found in PATH"
  command -v sysctl >/dev/null || check_fail "testbed needs sysctl (procps), not found in PATH"

  # A throwaway namespace whose name no testbed can have (names are at most 8 characters, so
  # no testbed has a namespace name this long), removed however the check ends.
  probe="shoal-testbed-check-$$"
  trap 'ip netns del "$probe" >/dev/null 2>&1 || true' EXIT
  err=$(ip netns add "$probe" 2>&1) || check_fail "ip netns add failed: ${err//$'\n'/ }"
  err=$(ip -n "$probe" link add name tbc0 type veth peer name tbc1 2>&1) ||
    check_fail "veth unavailable: ${err//$'\n'/ }"
  err=$(ip -n "$probe" link set tbc0 up 2>&1) || check_fail "ip link set up failed: ${err//$'\n'/ }"
  err=$(ip -n "$probe" link set dev tbc0 gso_max_segs "$GSO_SEGS" 2>&1) ||
    check_fail "ip link gso_max_segs unavailable: ${err//$'\n'/ }"
  err=$(ip netns exec "$probe" sysctl -qw "net.ipv4.tcp_limit_output_bytes=$TSQ_BYTES" 2>&1) ||
    check_fail "per-namespace tcp_limit_output_bytes unavailable: ${err//$'\n'/ }"
  err=$(ip -n "$probe" link add name br0 type bridge 2>&1) ||
    check_fail "bridge unavailable: ${err//$'\n'/ }"
  err=$(tc -n "$probe" qdisc add dev tbc0 root tbf rate 40mbit burst "$MIN_BURST" \
    latency "$LATENCY" 2>&1) || check_fail "tc tbf unavailable: ${err//$'\n'/ }"
  err=$(ip netns del "$probe" 2>&1) || check_fail "ip netns del failed: ${err//$'\n'/ }"
  trap - EXIT
  mkdir -p "$STATE_ROOT" 2>/dev/null || check_fail "cannot create $STATE_ROOT"
}

# ---------------------------------------------------------------------------------------------
# up

up_name=''
up_state=''
up_created=()
up_done=0

# On any failure during `up`, removes exactly what this invocation created (nothing that
# existed before it), so that a failed `up` leaves no half-built testbed behind.
up_rollback() {
  local rc=$? ns
  ((up_done)) && return 0
  for ns in "${up_created[@]}"; do
    ip netns del "$ns" >/dev/null 2>&1 || true
  done
  [[ -n $up_state ]] && rm -rf "$up_state"
  echo "$prog: up $up_name failed; removed the ${#up_created[@]} namespace(s) it had created" >&2
  exit $((rc == 0 ? 1 : rc))
}

# run WHAT CMD...: runs CMD, and on failure stops `up` with WHAT and CMD's error message.
run() {
  local what=$1 err
  shift
  err=$("$@" 2>&1 >/dev/null) || die "$what failed: ${err//$'\n'/ }"
}

make_ns() {
  run "creating namespace $1" ip netns add "$1"
  up_created+=("$1")
  run "bringing up lo in $1" ip -n "$1" link set lo up
}

# shape NS DEV: tbf at the testbed's rate on DEV's egress inside NS.
shape() {
  run "shaping $2 in $1" tc -n "$1" qdisc add dev "$2" root tbf \
    rate "$up_rate" burst "$up_burst" latency "$LATENCY"
}

cmd_up() {
  (($# == 3)) || usage
  local name=$1 hosts=$2 rate=$3 hub i ns addr existing bits
  check_name "$name"
  if ! [[ $hosts =~ ^[1-9][0-9]?$ ]] || ((hosts > MAX_HOSTS)); then
    die "bad host count '$hosts': expected 1..$MAX_HOSTS"
  fi
  up_rate=$rate
  up_burst=0
  if [[ $rate != 0 ]]; then
    bits=$(rate_to_bits "$rate") || die "bad rate '$rate': expected a tc rate such as 40mbit, or 0"
    ((bits >= 8000)) || die "rate '$rate' is below 8kbit; tbf cannot shape TCP usefully there"
    up_burst=$((bits * BURST_MS / 8000))
    ((up_burst >= MIN_BURST)) || up_burst=$MIN_BURST
  fi
  need_root

  hub="$name-hub"
  up_name=$name
  existing=$(list_namespaces "$name" | tr '\n' ' ')
  [[ -z $existing ]] ||
    die "testbed $name already exists (namespaces: ${existing% }); run '$0 down $name' first"
  mkdir -p "$STATE_ROOT"
  # mkdir without -p is atomic: of two concurrent `up`s of one name, only one gets past here.
  mkdir "$STATE_ROOT/$name" 2>/dev/null ||
    die "testbed $name already exists ($STATE_ROOT/$name); run '$0 down $name' first"
  up_state="$STATE_ROOT/$name"
  trap up_rollback EXIT

  printf '%s\n' "$hosts" >"$up_state/hosts"
  printf '%s\n' "$rate" >"$up_state/rate"
  : >"$up_state/pids"

  make_ns "$hub"
  run "creating br0 in $hub" ip -n "$hub" link add name br0 type bridge
  run "bringing up br0 in $hub" ip -n "$hub" link set br0 up

  for ((i = 0; i < hosts; i++)); do
    ns="$name-$i"
    addr="$SUBNET.$((i + 1))"
    make_ns "$ns"
    # Both ends are created straight inside their namespaces ("peer ... netns"), so neither
    # ever appears in the root namespace, not even for a moment. "name" is spelled out
    # because `ip link add h0 ...` would read a bare first word as an abbreviated keyword.
    run "creating veth eth0/h$i" ip -n "$ns" link add name eth0 type veth \
      peer name "h$i" netns "$hub"
    run "setting mtu $MTU on eth0 in $ns" ip -n "$ns" link set dev eth0 mtu "$MTU"
    run "setting mtu $MTU on h$i" ip -n "$hub" link set dev "h$i" mtu "$MTU"
    run "adding h$i to br0" ip -n "$hub" link set "h$i" master br0
    run "bringing up h$i" ip -n "$hub" link set "h$i" up
    run "addressing eth0 in $ns" ip -n "$ns" addr add "$addr/24" dev eth0
    run "bringing up eth0 in $ns" ip -n "$ns" link set eth0 up
    if [[ $rate != 0 ]]; then
      shape "$ns" eth0  # the host's upload
      shape "$hub" "h$i" # the host's download
      run "setting gso_max_segs on eth0 in $ns" ip -n "$ns" link set dev eth0 gso_max_segs "$GSO_SEGS"
      run "setting tcp_limit_output_bytes in $ns" ip netns exec "$ns" \
        sysctl -qw "net.ipv4.tcp_limit_output_bytes=$TSQ_BYTES"
    fi
  done

  up_done=1
  trap - EXIT
  if [[ $rate == 0 ]]; then
    echo "testbed $name: $hosts host(s) $SUBNET.1-$SUBNET.$hosts, unshaped"
  else
    echo "testbed $name: $hosts host(s) $SUBNET.1-$SUBNET.$hosts, $rate up and down each" \
      "(tbf burst $up_burst bytes, latency $LATENCY, mtu $MTU)"
  fi
}

# ---------------------------------------------------------------------------------------------
# addr, spawn, exec

cmd_addr() {
  (($# == 1)) || usage
  check_index "$1"
  echo "$SUBNET.$(($1 + 1))"
}

# host_ns NAME I: prints the namespace of host I of testbed NAME, failing unless it exists.
host_ns() {
  check_name "$1"
  check_index "$2"
  ns_exists "$1-$2" ||
    die "namespace $1-$2 does not exist (is testbed $1 up, with at least $(($2 + 1)) host(s)?)"
  printf '%s\n' "$1-$2"
}

cmd_spawn() {
  if (($# < 5)) || [[ $4 != -- ]]; then usage; fi
  local name=$1 ns log=$3 pid state
  ns=$(host_ns "$1" "$2")
  state="$STATE_ROOT/$name"
  [[ -d $state ]] || die "no state directory $state: testbed $name was not brought up by $prog"
  shift 4
  # Opened here first so that an unwritable LOG is reported to the caller instead of
  # silently killing the background job. Appended to, so several processes may share a log.
  { : >>"$log"; } 2>/dev/null || die "cannot write log $log"
  # Standard input from /dev/null and both outputs to LOG: the child then holds none of the
  # caller's pipes, so `pid=$(testbed.sh spawn ...)` returns at once. A script without job
  # control starts background commands with SIGINT and SIGQUIT ignored, and that would stick
  # to CMD; env puts them back to default. env and `ip netns exec` both exec in place, so $!
  # is CMD's own pid.
  env --default-signal=INT,QUIT ip netns exec "$ns" "$@" </dev/null >>"$log" 2>&1 &
  pid=$!
  # The start time goes with the pid so that `down` never signals an unrelated process that
  # got the same pid after ours exited. We have not waited for the child, so even if it has
  # already exited it is still our zombie and /proc/PID/stat is readable.
  read_proc "$pid" || proc_start=0
  printf '%s %s\n' "$pid" "$proc_start" >>"$state/pids"
  echo "$pid"
}

cmd_exec() {
  (($# >= 3)) || usage
  local ns
  ns=$(host_ns "$1" "$2")
  shift 2
  exec ip netns exec "$ns" "$@"
}

# ---------------------------------------------------------------------------------------------
# down

# Prints the processes of testbed $1 that are still running: the recorded pids whose start time
# still matches, and every process inside its namespaces. Never this script or its callers.
testbed_pids() {
  local name=$1 state="$STATE_ROOT/$1" pid start ns
  local -A skip=()
  for pid in $(self_and_ancestors); do skip[$pid]=1; done
  {
    if [[ -f $state/pids ]]; then
      while read -r pid start; do
        [[ $pid =~ ^[0-9]+$ ]] || continue
        if read_proc "$pid" && [[ $proc_state != Z ]] &&
          [[ $start == 0 || $proc_start == "$start" ]]; then
          printf '%s\n' "$pid"
        fi
      done <"$state/pids"
    fi
    for ns in $(list_namespaces "$name"); do
      ip netns pids "$ns" 2>/dev/null || true
    done
  } | sort -un | while read -r pid; do
    [[ -n ${skip[$pid]:-} ]] || printf '%s\n' "$pid"
  done
}

# wait_gone SECONDS PIDS...: waits until none of PIDS runs, for at most SECONDS.
wait_gone() {
  local tenths=$(($1 * 10)) _i pid any
  shift
  for ((_i = 0; _i < tenths; _i++)); do
    any=0
    for pid in "$@"; do
      if alive "$pid"; then any=1; break; fi
    done
    ((any)) || return 0
    sleep 0.1
  done
  return 1
}

cmd_down() {
  (($# == 1)) || usage
  local name=$1 ns pass err failed=0
  local -a pids
  check_name "$name"
  need_root

  # Polite first: SIGTERM and up to 5 s to exit. Then SIGKILL whatever is left, including
  # anything that was forked meanwhile; three passes bound it even if processes keep forking.
  mapfile -t pids < <(testbed_pids "$name")
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait_gone 5 "${pids[@]}" || true
  fi
  for pass in 1 2 3; do
    mapfile -t pids < <(testbed_pids "$name")
    ((${#pids[@]})) || break
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait_gone 2 "${pids[@]}" || true
    if ((pass == 3)); then
      echo "$prog: warning: still running after SIGKILL: ${pids[*]}" >&2
    fi
  done

  # A namespace whose last process is gone disappears with its `ip netns del`; a veth dies
  # with either of its namespaces, so the order does not matter.
  for ns in $(list_namespaces "$name"); do
    if ! err=$(ip netns del "$ns" 2>&1); then
      echo "$prog: ip netns del $ns failed: ${err//$'\n'/ }" >&2
      failed=1
    fi
  done
  rm -rf "${STATE_ROOT:?}/$name"
  ((failed == 0)) || exit 1
}

# ---------------------------------------------------------------------------------------------

# Bash skips EXIT traps when a signal kills it; turning these signals into exits lets `up` roll
# back and `check` remove its probe namespace when interrupted.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

(($# >= 1)) || usage
sub=$1
shift
case $sub in
  check) cmd_check "$@" ;;
  up) cmd_up "$@" ;;
  addr) cmd_addr "$@" ;;
  spawn) cmd_spawn "$@" ;;
  exec) cmd_exec "$@" ;;
  down) cmd_down "$@" ;;
  -h | --help | help) usage ;;
  *) echo "$prog: unknown subcommand '$sub'" >&2; usage ;;
esac
