#!/bin/sh
# tests/e2e/init.sh: initramfs/init's functions on the host, under BusyBox
# sh (KR_SOURCE_ONLY=1, side effects redirected): kernel parameter parsing
# (defaults, quoted and comma-separated krescue.args, bad values), device
# resolution (/dev, PARTUUID from a fake /sys, by-uuid paths) and the
# result line printed once.
. "$(dirname "$0")/../lib.sh"

BB=build/image/busybox/bin/busybox
if [ ! -x "$BB" ]; then
	sh scripts/image/fetch-kernel.sh build/image >"$TMP/fetch.log" 2>&1 ||
	    { fail busybox "$(tail -n 1 "$TMP/fetch.log")"; finish; }
fi

# parse CMDLINE: print the parsed variables
parse() {
	printf '%s\n' "$1" >"$TMP/cmdline"
	KR_SOURCE_ONLY=1 KR_CMDLINE="$TMP/cmdline" KR_RUN=: "$BB" sh -c '
	    . ./initramfs/init
	    parse_cmdline >/dev/null
	    echo "root=$ROOTSPEC action=$ACTION on_error=$ON_ERROR settle=$SETTLE args=$ARGS break=$BREAK"'
}

check_parse() {
	got=$(parse "$2")
	[ "$got" = "$3" ] && pass "cmdline: $1" || fail "cmdline: $1" "got '$got'"
}
check_parse "defaults" "console=ttyS0 quiet" \
    "root= action=menu on_error=shell settle=10 args= break="
check_parse "renew defaults to poweroff on error" \
    "quiet krescue.action=renew krescue.root=LABEL=node krescue.settle=3" \
    "root=LABEL=node action=renew on_error=poweroff settle=3 args= break="
check_parse "comma-separated args" \
    "krescue.action=check krescue.args=--validity,8760h,--reuse-keys" \
    "root= action=check on_error=poweroff settle=10 args=--validity 8760h --reuse-keys break="
check_parse "quoted args with spaces" \
    'krescue.args="--validity 8760h --reuse-keys" krescue.action=renew' \
    "root= action=renew on_error=poweroff settle=10 args=--validity 8760h --reuse-keys break="
check_parse "quoted single word" 'krescue.args="--reuse-keys" krescue.break=mount' \
    "root= action=menu on_error=shell settle=10 args=--reuse-keys break=mount"
check_parse "must fail: bad action, on_error, settle fall back" \
    "krescue.action=format krescue.on_error=reboot krescue.settle=ten" \
    "root= action=menu on_error=poweroff settle=10 args= break="
check_parse "globs are not expanded" "krescue.args=* krescue.root=/dev/*" \
    "root=/dev/* action=menu on_error=shell settle=10 args=* break="

# resolve with a fake /sys
S=$TMP/sys
mkdir -p "$S/class/block/vda" "$S/class/block/vda2"
printf 'MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n' >"$S/class/block/vda/uevent"
printf 'MAJOR=254\nMINOR=2\nDEVNAME=vda2\nDEVTYPE=partition\nPARTN=2\nPARTUUID=0fc63daf-8483-4772-8e79-3d69d8477de4\n' \
    >"$S/class/block/vda2/uevent"
res() {
	KR_SOURCE_ONLY=1 KR_SYS="$S" KR_RUN=echo "$BB" sh -c '
	    . ./initramfs/init; resolve "$1"' sh "$1"
}
[ "$(res PARTUUID=0FC63DAF-8483-4772-8E79-3D69D8477DE4)" = /dev/vda2 ] &&
    pass "resolve PARTUUID= (any case) from uevent" ||
    fail "resolve PARTUUID=" "got '$(res PARTUUID=0FC63DAF-8483-4772-8E79-3D69D8477DE4)'"
[ -z "$(res PARTUUID=00000000-0000-0000-0000-000000000000)" ] &&
    pass "must fail: unknown PARTUUID resolves to nothing" ||
    fail "must fail: unknown PARTUUID" "resolved"
[ "$(res /dev/disk/by-uuid/1234)" = "findfs UUID=1234" ] &&
    pass "resolve /dev/disk/by-uuid/ via findfs UUID=" ||
    fail "resolve /dev/disk/by-uuid/" "got '$(res /dev/disk/by-uuid/1234)'"
got=$(KR_SOURCE_ONLY=1 KR_SYS="$S" KR_RUN=: "$BB" sh -c '. ./initramfs/init; block_devices' | tr '\n' ' ')
[ "$got" = "/dev/vda /dev/vda2 " ] && pass "block devices from /sys" ||
    fail "block devices from /sys" "got '$got'"

# the result line is printed once, whatever follows
got=$(KR_SOURCE_ONLY=1 KR_RUN=: "$BB" sh -c '. ./initramfs/init
    result ok "first"; result failed "second"' | grep -c KRESCUE-RESULT)
[ "$got" = 1 ] && pass "one KRESCUE-RESULT line" || fail "one KRESCUE-RESULT line" "$got"

# failed + poweroff under mocks: result line, then the mocked poweroff
got=$(KR_SOURCE_ONLY=1 KR_RUN=echo KR_MNT=/nonexistent "$BB" sh -c '. ./initramfs/init
    ON_ERROR=poweroff; failed "no disk"' | tr '\n' '|')
case $got in
*"KRESCUE-RESULT: failed no disk|"*"poweroff -f|") pass "failed: result line, then poweroff -f" ;;
*) fail "failed: result line, then poweroff -f" "$got" ;;
esac

finish
