#!/usr/bin/env python3
"""Live view of fetches in progress, for the demo: polls each node's daemon (`shoal --json
status`) and prints one line per interval with every node's progress, its download rate and
the share of what it received that came from the other nodes rather than the origin (by the
origin's address, however the node found it: --from or the DHT).
Runs until the given `shoal get` processes have all exited.

Usage: swarm_view.py SHOAL INTERVAL PIDS ORIGIN NAME=DATA_DIR ...
       (PIDS: comma-separated; ORIGIN: the origin's HOST:PORT)
"""
import json
import os
import subprocess
import sys
import time


def status(shoal, data_dir):
    try:
        out = subprocess.run([shoal, "--json", "--data-dir", data_dir, "status"],
                             capture_output=True, text=True, timeout=5)
        return json.loads(out.stdout) if out.returncode == 0 else None
    except (subprocess.TimeoutExpired, json.JSONDecodeError):
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A finished child that the shell has not reaped yet still answers kill(0).
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def main():
    shoal, interval, pids = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    origin = sys.argv[4]
    nodes = [a.split("=", 1) for a in sys.argv[5:]]
    pids = [int(p) for p in pids.split(",") if p]
    start = time.monotonic()
    last = {}
    done = set()
    while True:
        running = any(alive(p) for p in pids)
        cells = []
        now = time.monotonic()
        for name, data_dir in nodes:
            if name in done:
                cells.append(f"{name} done" + " " * 16)
                continue
            s = status(shoal, data_dir)
            fetch = s["fetches"][0] if s and s.get("fetches") else None
            if fetch is None:
                if last.get(name):
                    done.add(name)
                    cells.append(f"{name} done" + " " * 16)
                else:
                    cells.append(f"{name}    -" + " " * 15)
                continue
            total = fetch.get("total_bytes") or 1
            stored = fetch.get("stored_bytes", 0)
            received = fetch.get("received_bytes", 0)
            prev = last.get(name)
            rate = (received - prev[1]) / (now - prev[0]) if prev and now > prev[0] else 0
            last[name] = (now, received)
            # Not from_peers: a fetch by ID alone finds the origin in the DHT, and then its bytes
            # count as from a peer (every row read 100%).
            from_origin = fetch.get("from", {}).get(origin, 0)
            share = f"{100 * (received - from_origin) / received:3.0f}%" if received else "  - "
            cells.append(f"{name} {100 * stored / total:3.0f}% {rate / 1e6:4.1f}MB/s {share}")
        print(f"  {now - start:5.1f} s  " + " | ".join(cells), flush=True)
        if not running:
            return
        time.sleep(interval)


if __name__ == "__main__":
    main()
