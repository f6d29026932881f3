#!/usr/bin/env bash
# The package test: builds the Debian package from build/release, checks what it holds (a
# stripped binary and its split debug symbols, the unit, the sysusers and tmpfiles entries, the
# config file as a conffile, a manual page that renders, completions that parse), installs it,
# and fetches a content with the installed binary running as the service would: as the
# `shoal` user on /var/lib/shoal, with readiness told to a notification socket as systemd's
# would be (and through systemctl itself when systemd runs the machine).
#
# Installing changes the machine (a package, a system user, /var/lib/shoal): it is done with
# `dpkg -i` in CI (CI=true) or when SHOAL_PACKAGE_INSTALL=1, only on a machine with none of
# them yet, and undone at the end. Otherwise only the package's contents are checked.
# Usage: scripts/package_test.sh    (after a release build; scripts/test.sh runs it)
set -euo pipefail
cd "$(dirname "$0")/.."

SHOAL_SKIP_BOOTSTRAP=1 scripts/package.sh >/dev/null
deb=$(ls build/release/package/shoal_*.deb)
ddeb=$(ls build/release/package/shoal-dbgsym_*.ddeb)
work=$(mktemp -d /tmp/shoal-package.XXXXXX)
pids=()
installed_here=0
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if ((installed_here)); then
    if [[ -d /run/systemd/system ]]; then
      systemctl stop shoal.service 2>/dev/null || true
      rm -rf /run/systemd/system/shoal.service.d
    fi
    dpkg --purge shoal >/dev/null 2>&1 || true
    rm -rf /var/lib/shoal
    userdel shoal 2>/dev/null || true
    groupdel shoal 2>/dev/null || true
  fi
  rm -rf "$work" /run/shoal-package-test
}
trap cleanup EXIT
fail() { echo "package test: FAILED: $*" >&2; exit 1; }
step() { echo "package test: $*"; }

step "contents of $(basename "$deb")"
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/shoal ./usr/lib/systemd/system/shoal.service ./usr/lib/sysusers.d/shoal.conf \
  ./usr/lib/tmpfiles.d/shoal.conf ./etc/shoal/config.toml ./usr/share/man/man1/shoal.1.gz \
  ./usr/share/bash-completion/completions/shoal ./usr/share/zsh/vendor-completions/_shoal \
  ./usr/share/doc/shoal/copyright ./usr/share/doc/shoal/operations.md; do
  grep -qxF "$f" <<<"$contents" || fail "$f is not in the package"
done
[[ $(dpkg-deb -f "$deb" Depends) == *libssl3* ]] || fail "Depends lacks the shared libraries"
dpkg-deb --ctrl-tarfile "$deb" | tar -tf - | grep -qx './conffiles' || fail "no conffiles"
dpkg-deb -x "$deb" "$work/root"
file "$work/root/usr/bin/shoal" | grep -q ', stripped' || fail "the binary is not stripped"
dpkg-deb -x "$ddeb" "$work/dbg"
build_id=$(readelf -n "$work/root/usr/bin/shoal" | awk '/Build ID/ {print $3}')
[[ -f "$work/dbg/usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug" ]] ||
  fail "the debug symbols of build ID $build_id are not in $(basename "$ddeb")"
echo "   binary $(stat -c %s "$work/root/usr/bin/shoal") bytes stripped, symbols in the .ddeb"

step "manual page and completions"
zcat "$work/root/usr/share/man/man1/shoal.1.gz" | groff -man -Tutf8 -ww -z 2>"$work/groff.err"
[[ ! -s "$work/groff.err" ]] || fail "groff warns about the manual page: $(cat "$work/groff.err")"
zcat "$work/root/usr/share/man/man1/shoal.1.gz" | grep -q 'network sign' ||
  fail "the manual page lacks a command"
bash -c 'source "$1"
  COMP_WORDS=(shoal network s); COMP_CWORD=2; _shoal; [[ ${COMPREPLY[*]} == sign ]] || exit 1
  COMP_WORDS=(shoal daemon --log-f); COMP_CWORD=2; _shoal; [[ ${COMPREPLY[*]} == --log-format ]]' \
  _ "$work/root/usr/share/bash-completion/completions/shoal" || fail "bash completion"
if command -v zsh >/dev/null; then
  zsh -n "$work/root/usr/share/zsh/vendor-completions/_shoal" || fail "zsh completion"
fi

if [[ ${CI:-} != true && ${SHOAL_PACKAGE_INSTALL:-} != 1 ]]; then
  step "not installed (set SHOAL_PACKAGE_INSTALL=1, or CI=true, to install and run it)"
  exit 0
fi

# This machine's own node is never touched: with shoal installed, a shoal user or a
# /var/lib/shoal already here (a store may hold the only copy of a content), the install part
# is not run, and nothing is removed afterwards.
if dpkg-query -W -f='${Status}' shoal 2>/dev/null | grep -q "install ok installed" ||
  getent passwd shoal >/dev/null || [[ -e /var/lib/shoal ]]; then
  step "not installed: this machine already has shoal, a shoal user or /var/lib/shoal, which this test would change"
  exit 0
fi
step "dpkg -i $(basename "$deb")"
installed_here=1
dpkg -i "$deb" >/dev/null
getent passwd shoal >/dev/null || fail "no shoal user after install"
[[ $(stat -c '%U %a' /var/lib/shoal) == "shoal 700" ]] || fail "/var/lib/shoal is not shoal's, 0700"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify --man=no /usr/lib/systemd/system/shoal.service ||
    fail "systemd-analyze verify shoal.service"
fi
as_shoal() { runuser -u shoal -- "$@"; }
as_shoal shoal --config /etc/shoal/config.toml ls >/dev/null || fail "the shipped config does not load"

step "an origin and the installed service node, on loopback"
shoal=/usr/bin/shoal
"$shoal" -q network create acme --out "$work/authority" >/dev/null
chmod 755 "$work" "$work/authority"
chmod 644 "$work/authority/acme.cert"
# The service node: its identity made as the shoal user, in /var/lib/shoal.
as_shoal "$shoal" -q --config /etc/shoal/config.toml init --network "$work/authority/acme.cert" \
  --name service >/dev/null
"$shoal" -q network sign /var/lib/shoal/identity/node.csr --authority "$work/authority/acme.key" \
  --expires-in 1d -o "$work/service.cert" >/dev/null
chmod 644 "$work/service.cert"
as_shoal "$shoal" -q --config /etc/shoal/config.toml init --certificate "$work/service.cert" >/dev/null
# The origin: a plain data directory of root's.
"$shoal" -q --data-dir "$work/origin" init --network "$work/authority/acme.cert" --name origin >/dev/null
"$shoal" -q --data-dir "$work/origin" network sign "$work/origin/identity/node.csr" \
  --authority "$work/authority/acme.key" --expires-in 1d >/dev/null
"$shoal" -q --data-dir "$work/origin" init --certificate "$work/origin/identity/node.cert" >/dev/null
python3 -c "import random,sys; sys.stdout.buffer.write(random.Random(7).randbytes(3*1024*1024+77))" \
  >"$work/release.bin"
id=$("$shoal" -q --data-dir "$work/origin" add "$work/release.bin")
"$shoal" --data-dir "$work/origin" daemon --listen 127.0.0.1:0 --http-listen off \
  >"$work/origin.log" 2>&1 &
pids+=("$!")
origin=
for _ in $(seq 100); do
  origin=$(sed -n 's/.* listening on \([0-9.:]*\) .*/\1/p' "$work/origin.log" | head -1)
  [[ -n $origin ]] && break
  sleep 0.1
done
[[ -n $origin ]] || fail "the origin did not start: $(cat "$work/origin.log")"

# The service node, on a config of the test's (loopback ports picked by the kernel), where the
# unit's sandbox lets it read (its /tmp is private), with its output in its state directory.
conf=/run/shoal-package-test
mkdir -p "$conf"
cat >"$conf/service.toml" <<EOF
data_dir = "/var/lib/shoal"
listen = "127.0.0.1:0"
http_listen = "127.0.0.1:0"
EOF
chmod 755 "$conf" && chmod 644 "$conf/service.toml"
out=/var/lib/shoal/package-test-out
if [[ -d /run/systemd/system ]]; then
  step "systemctl start shoal (systemd runs this machine)"
  mkdir -p /run/systemd/system/shoal.service.d
  printf '[Service]\nExecStart=\nExecStart=/usr/bin/shoal --config %s daemon\n' \
    "$conf/service.toml" >/run/systemd/system/shoal.service.d/test.conf
  systemctl daemon-reload
  systemctl start shoal.service || fail "systemctl start: $(journalctl -u shoal -n 20 --no-pager)"
  [[ $(systemctl show -p StatusText --value shoal.service) == *listening* ]] ||
    fail "no status line from the daemon"
else
  step "the daemon as the shoal user, readiness to a notification socket (no systemd here)"
  python3 - "$work/notify.sock" "$work/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
import os; os.chmod(sys.argv[1], 0o777)
s.settimeout(30)
with open(sys.argv[2], "w") as log:
    while True:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        log.write(msg + "\n"); log.flush()
        if "STOPPING=1" in msg:
            break
PY
  pids+=("$!")
  for _ in $(seq 50); do [[ -S $work/notify.sock ]] && break; sleep 0.1; done
  # setpriv execs the daemon itself (runuser would stay its parent and answer the signal).
  NOTIFY_SOCKET=$work/notify.sock setpriv --reuid shoal --regid shoal --init-groups -- \
    "$shoal" --config "$conf/service.toml" daemon >"$work/service.log" 2>&1 &
  pids+=("$!")
  service_pid=$!
  for _ in $(seq 100); do grep -q READY=1 "$work/notify.log" 2>/dev/null && break; sleep 0.1; done
  grep -q READY=1 "$work/notify.log" || fail "no READY=1: $(cat "$work/service.log")"
fi

step "shoal get through the service node"
as_shoal mkdir -p "$out"
as_shoal "$shoal" -q --config "$conf/service.toml" get "$id" --from "$origin" -o "$out/release.bin" >/dev/null ||
  fail "get: $(cat "$work/service.log" 2>/dev/null)"
cmp "$work/release.bin" "$out/release.bin" || fail "the fetched copy differs"
as_shoal "$shoal" --config "$conf/service.toml" ls | grep -q "$id" || fail "the service store lacks it"

if [[ ! -d /run/systemd/system ]]; then
  kill -TERM "$service_pid"
  wait "$service_pid" || fail "the service daemon did not exit 0 on SIGTERM"
  grep -q STOPPING=1 "$work/notify.log" || fail "no STOPPING=1"
fi
echo "package test: passed ($(basename "$deb"), $(stat -c %s "$deb") bytes)"
