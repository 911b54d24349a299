#!/bin/sh
# make bench: measurements only, nothing asserted.
set -eu
cd "$(dirname "$0")/../.."
sh scripts/install-pkgs.sh openssl python3
exec python3 tests/bench/bench.py
