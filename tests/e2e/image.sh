#!/bin/sh
# tests/e2e/image.sh: the image build.  Our newc writer (mkcpio) against
# GNU cpio on every name and size padding case; two builds of the image are
# byte-identical; the initrd holds /init, /dev/console, BusyBox, krescue and
# the modules with modules.dep; it is below 16 MiB.  Must-fail: a bad
# manifest line.
. "$(dirname "$0")/../lib.sh"
require_krescue
command -v cpio >/dev/null 2>&1 || sh scripts/install-pkgs.sh cpio >/dev/null 2>&1

# --- mkcpio ------------------------------------------------------------------
M=$TMP/mkcpio
${HOSTCC:-cc} -std=c11 -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror -Wformat=2 \
    -Wshadow -o "$M" scripts/image/mkcpio.c || { fail mkcpio "does not build"; finish; }
S=$TMP/src
mkdir -p "$S"
{
	echo "dir /d 0750"
	for n in a ab abc abcd; do
		for z in 0 1 2 3 4 5; do
			head -c "$z" /dev/urandom >"$S/$n$z"
			echo "file /d/$n$z 0640 $S/$n$z"
		done
	done
	echo "slink /d/l 0777 ../target/x"
	echo "nod /d/console 0600 c 5 1"
} >"$TMP/list"
"$M" -t 1700000000 <"$TMP/list" >"$TMP/a.cpio"
size=$(wc -c <"$TMP/a.cpio")
[ $((size % 512)) -eq 0 ] && pass "mkcpio: archive padded to 512" ||
    fail "mkcpio: archive padded to 512" "$size bytes"
mkdir -p "$TMP/x"
if (cd "$TMP/x" && cpio -idm --quiet <"$TMP/a.cpio") 2>"$TMP/cpio.err"; then
	ok=1
	for n in a ab abc abcd; do
		for z in 0 1 2 3 4 5; do
			cmp -s "$S/$n$z" "$TMP/x/d/$n$z" || ok=0
		done
	done
	[ "$(readlink "$TMP/x/d/l")" = ../target/x ] || ok=0
	[ "$(stat -c '%F %t %T %a' "$TMP/x/d/console")" = "character special file 5 1 600" ] || ok=0
	[ "$(stat -c '%a %Y' "$TMP/x/d/a3")" = "640 1700000000" ] || ok=0
	[ "$ok" = 1 ] && pass "mkcpio: GNU cpio reads every padding case, link, node, mode, mtime" ||
	    fail "mkcpio: GNU cpio read back" "contents differ"
else
	fail "mkcpio: GNU cpio read back" "$(head -n 1 "$TMP/cpio.err")"
fi
if echo "file /x 0644 $TMP/nonexistent" | "$M" >/dev/null 2>&1 ||
    echo "bogus /x 0644" | "$M" >/dev/null 2>&1 ||
    echo "dir /x 9999" | "$M" >/dev/null 2>&1; then
	fail "must fail: mkcpio bad lines" "accepted"
else
	pass "must fail: mkcpio refuses a missing source, an unknown type, a bad mode"
fi

# --- the image, twice -----------------------------------------------------------
# Same inputs for both builds: a copy of krescue (others may rebuild
# build/krescue meanwhile) and one SOURCE_DATE_EPOCH.
cp "$KRESCUE" "$TMP/krescue"
KRESCUE=$TMP/krescue
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
export KRESCUE SOURCE_DATE_EPOCH
t0=$(date +%s)
if ! sh scripts/image/mkinitrd.sh >"$TMP/b1.log" 2>&1; then
	fail "make image" "$(tail -n 1 "$TMP/b1.log")"
	finish
fi
t1=$(date +%s)
h1=$(sha256sum <build/krescue.initrd)
sh scripts/image/mkinitrd.sh >"$TMP/b2.log" 2>&1
h2=$(sha256sum <build/krescue.initrd)
echo "# $(grep '^build/krescue.initrd' "$TMP/b1.log"); first build $((t1 - t0))s"
[ "$h1" = "$h2" ] && pass "two builds are byte-identical" ||
    fail "two builds are byte-identical" "sha256 differs"

size=$(wc -c <build/krescue.initrd)
[ "$size" -lt $((16 * 1024 * 1024)) ] && pass "initrd below 16 MiB ($size bytes)" ||
    fail "initrd below 16 MiB" "$size bytes"

zstd -dcq build/krescue.initrd | cpio -itv --quiet 2>/dev/null >"$TMP/listing"
ok=1
for want in ' init$' ' dev/console$' ' bin/busybox$' ' sbin/krescue$' \
    ' bin/sh -> /bin/busybox$' '/modules.dep$' '/modules.alias$' \
    '/modules.softdep$' '/ext4.ko$' '/xfs.ko$' '/virtio_blk.ko$' \
    '/crc32c_generic.ko$' '/dm-mod.ko$' '/nvme.ko$' '/usb-storage.ko$'; do
	grep -q -- "$want" "$TMP/listing" || { fail "initrd contents" "no$want"; ok=0; }
done
awk '$3 != "root" || $4 != "root" { bad = 1 } END { exit bad }' "$TMP/listing" ||
    { fail "initrd contents" "an entry not owned by root:root"; ok=0; }
[ "$ok" = 1 ] && pass "initrd: init, console, BusyBox, krescue, modules + indexes, all 0:0"

mkdir -p "$TMP/ir"
(cd "$TMP/ir" && zstd -dcq "$REPO/build/krescue.initrd" | cpio -id --quiet 2>/dev/null)
cmp -s "$TMP/ir/sbin/krescue" "$KRESCUE" && pass "initrd: krescue is the binary given" ||
    fail "initrd: krescue" "differs from $KRESCUE"
if [ -x "$TMP/ir/bin/busybox" ] && KR_SOURCE_ONLY=1 "$TMP/ir/bin/busybox" sh -n "$TMP/ir/init"; then
	pass "initrd: /init parses with BusyBox sh"
else
	fail "initrd: /init" "BusyBox sh -n failed"
fi

finish
