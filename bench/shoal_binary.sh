#!/usr/bin/env bash
# Prints the path of the shoal binary the benchmarks run: $SHOAL if set, else the release
# preset's, built first (quietly) so that it is current.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -n ${SHOAL:-} ]]; then
  realpath "$SHOAL"
else
  cmake --preset release > /dev/null
  cmake --build --preset release --target shoal > /dev/null
  echo "$PWD/build/release/apps/shoal/shoal"
fi
