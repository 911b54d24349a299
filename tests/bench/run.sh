#!/bin/sh
# make bench: measurements only, nothing asserted.
set -eu
cd "$(dirname "$0")/../.."
sh scripts/install-pkgs.sh openssl python3 musl-tools
mkdir -p build/bench
musl-gcc -static -O2 -Wall -Wextra -Werror -o build/bench/maxrss \
    tests/bench/maxrss.c
./build/bench/maxrss true 2>&1 | sed 's/^maxrss/peak RSS of the measuring helper itself (KiB):/'
python3 tests/bench/bench.py
# the rescue image: initrd size and boot-to-KRESCUE-RESULT under TCG
BENCH_RUNS=${BOOT_RUNS:-3} sh tests/bench/boot.sh
