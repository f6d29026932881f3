#!/usr/bin/env bash
# Builds the Debian package: build/release/package/shoal_<version>_<arch>.deb (the binary
# stripped) and shoal-dbgsym_<version>_<arch>.ddeb (its debug symbols). Install it with
# `apt-get install ./build/release/package/shoal_*.deb` (docs/operations.md).
# Usage: scripts/package.sh    (from anywhere; installs build dependencies first)
set -euo pipefail
cd "$(dirname "$0")/.."

[[ ${SHOAL_SKIP_BOOTSTRAP:-} == 1 ]] || scripts/bootstrap.sh
cmake --preset release -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build --preset release -j "$(nproc)" --target shoal shoal_cli_docs
rm -rf build/release/package
(cd build/release && cpack -G DEB >/dev/null)
ls -1 build/release/package/*.deb build/release/package/*.ddeb
