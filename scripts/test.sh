#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: the optimised build (unit, integration),
# the ASan+UBSan build (unit, integration), and a short libFuzzer run of each decoder.
# Usage: scripts/test.sh            (from anywhere; SHOAL_FUZZ_SECONDS=N to fuzz longer)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/bootstrap.sh
jobs=$(nproc)

echo "== release build"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
ctest --preset release -j "$jobs"

echo "== package (build, contents; install and run in CI)"
scripts/package_test.sh

echo "== ASan + UBSan build"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --preset asan -j "$jobs"

echo "== fuzz (${SHOAL_FUZZ_SECONDS:-20} s per target)"
cmake --preset fuzz -DSHOAL_FUZZ_SECONDS="${SHOAL_FUZZ_SECONDS:-20}" >/dev/null
cmake --build --preset fuzz -j "$jobs" --target shoal_manifest_fuzz shoal_wire_fuzz shoal_revocation_fuzz shoal_fuzz_seeds
ctest --preset fuzz -L fuzz

echo "== all tests passed"
