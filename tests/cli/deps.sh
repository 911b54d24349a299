#!/bin/sh
# deps.sh: third-party tarballs are taken only when their sha256 matches
# the pin in scripts/deps.lock, whatever their source.
. "$(dirname "$0")/../lib.sh"

S=$TMP/src
mkdir -p "$S"
MB=$(awk '$1 == "mbedtls" { print $3 }' scripts/deps.lock)
LY=$(awk '$1 == "libyaml" { print $3 }' scripts/deps.lock)
if [ ! -f "build/src/$MB" ] || [ ! -f "build/src/$LY" ]; then
	fail "setup" "build/src has no verified tarballs (run make deps)"
	finish
fi

# the right local tarballs are taken and verified
run env KRESCUE_SRCDIR="$S" MBEDTLS_TARBALL="$REPO/build/src/$MB" \
    LIBYAML_TARBALL="$REPO/build/src/$LY" sh scripts/fetch-deps.sh
if [ "$RC" = 0 ] && cmp -s "$S/$MB" "build/src/$MB" && cmp -s "$S/$LY" "build/src/$LY" &&
    grep -q 'verified' "$ERR"; then
	pass "local tarballs named by MBEDTLS_TARBALL/LIBYAML_TARBALL are verified and taken"
else
	fail "local tarballs" "exit $RC: $(why_err)"
fi

# a tarball that is not the pinned one is refused, and not kept
rm -f "$S/$LY"
head -c 4096 "build/src/$LY" >"$TMP/other.tar.gz"
run env KRESCUE_SRCDIR="$S" LIBYAML_TARBALL="$TMP/other.tar.gz" \
    sh scripts/fetch-deps.sh
if [ "$RC" != 0 ] && grep -q 'does not match the pin' "$ERR" &&
    [ ! -e "$S/$LY" ] && [ ! -e "$S/$LY.part" ]; then
	pass "a tarball with another sha256 is refused with a clear message"
else
	fail "sha256 mismatch" "exit $RC, $(why_err), kept: $(ls "$S")"
fi
finish
