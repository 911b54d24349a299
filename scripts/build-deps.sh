#!/bin/sh
# Build mbedTLS and libyaml from the verified tarballs in build/src into
# $1 (an install prefix: include/ and lib/), with the compiler $2.
# Called twice by the Makefile: musl-gcc for the static binary, the host
# compiler for the sanitizer-instrumented unit tests.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
prefix=$1
cc=$2
extra=${3:-}
work="$prefix/work"
jobs=$(nproc 2>/dev/null || echo 2)

rm -rf "$work"
mkdir -p "$work" "$prefix/include" "$prefix/lib"

# mbedTLS, with krescue's own configuration header.
tar -xjf "$top/build/src/mbedtls_3.6.6.orig.tar.bz2" -C "$work"
mb=$(find "$work" -maxdepth 1 -type d -name 'mbedtls*' | head -n 1)
cp "$top/toolkit/mbedtls_config.h" "$mb/include/krescue_mbedtls_config.h"
make -s -C "$mb/library" -j"$jobs" CC="$cc" AR=ar \
    CFLAGS="-O2 $extra -DMBEDTLS_CONFIG_FILE='\"krescue_mbedtls_config.h\"'" \
    libmbedcrypto.a libmbedx509.a libmbedtls.a >/dev/null
rm -rf "$prefix/include/mbedtls" "$prefix/include/psa"
cp -R "$mb/include/mbedtls" "$mb/include/psa" "$prefix/include/"
cp "$mb/include/krescue_mbedtls_config.h" "$prefix/include/"
cp "$mb/library/libmbedcrypto.a" "$mb/library/libmbedx509.a" \
    "$mb/library/libmbedtls.a" "$prefix/lib/"

# libyaml: Debian's orig tarball is a git snapshot without configure, so
# compile its sources directly.
tar -xzf "$top/build/src/libyaml_0.2.5.orig.tar.gz" -C "$work"
ly=$(find "$work" -maxdepth 1 -type d -name '*yaml*' | head -n 1)
for c in "$ly"/src/*.c; do
	$cc -O2 $extra -I"$ly/include" -DYAML_VERSION_MAJOR=0 \
	    -DYAML_VERSION_MINOR=2 -DYAML_VERSION_PATCH=5 \
	    '-DYAML_VERSION_STRING="0.2.5"' -c "$c" \
	    -o "$work/$(basename "$c" .c).o"
done
rm -f "$prefix/lib/libyaml.a"
ar rcs "$prefix/lib/libyaml.a" "$work"/*.o
cp "$ly/include/yaml.h" "$prefix/include/"
rm -rf "$work"
echo "deps: built mbedTLS 3.6.6 and libyaml 0.2.5 with $cc into $prefix" >&2
