#!/bin/sh
# tests/cli/rollback.sh: `krescue rollback` after `krescue renew` puts the
# node back byte for byte (contents, modes, symlinks; the files the renewal
# created removed), on a kubeadm tree after kubelet-finalize and on a
# Kubespray tree; `--list` shows the backup; must-fail: a backup whose copy
# was altered, no backup at all, a held lock: refused, nothing changed.
. "$(dirname "$0")/../lib.sh"
require_krescue

LOCKPID=
rb_cleanup() {
	[ -n "$LOCKPID" ] && kill "$LOCKPID" 2>/dev/null
	t_cleanup
}
trap 'rb_cleanup' EXIT

KPEM=/var/lib/kubelet/pki/kubelet-client-current.pem

# hash_node DIR: tree_hash without krescue's own /var/lib/krescue
hash_node() {
	(
		cd "$1" || exit 1
		find . -path ./var/lib/krescue -prune -o \
		    -printf '%y %m %U:%G %p -> %l\n' | sort
		find . -path ./var/lib/krescue -prune -o \
		    -type f -exec sha256sum {} + | sort -k 2
	) | sha256sum | cut -d ' ' -f 1
}

# what differs between two trees, for failure messages
listing() {
	(
		cd "$1" || exit 1
		find . -path ./var/lib/krescue -prune -o -printf '%p %y %m %l\n' | sort
		find . -path ./var/lib/krescue -prune -o -type f -print | sort |
		    xargs sha256sum
	)
}
differs() {
	listing "$1" >"$TMP/.d1"
	listing "$2" >"$TMP/.d2"
	diff "$TMP/.d1" "$TMP/.d2" | grep '^[<>]' | tr '\n' ';' | cut -c 1-300
}

# roundtrip TAG ORIG: renew a copy, roll it back, compare with ORIG
roundtrip() {
	rt_tag=$1 rt_orig=$2 rt=$TMP/$1
	cp -a "$rt_orig" "$rt"
	h0=$(hash_node "$rt")
	old_link=$(readlink "$rt$KPEM")
	run "$KRESCUE" renew --root "$rt"
	if [ "$RC" -ne 0 ]; then
		fail "$rt_tag-renew" "exit $RC, want 0 ($(why_err))"
		return
	fi
	new_link=$(readlink "$rt$KPEM")
	if [ "$(hash_node "$rt")" = "$h0" ] || [ "$new_link" = "$old_link" ]; then
		fail "$rt_tag-renew" "renew changed nothing (link $new_link)"
		return
	fi
	pass "$rt_tag-renew"

	bk=$(ls "$rt/var/lib/krescue/backup")
	run "$KRESCUE" rollback --root "$rt" --list
	if [ "$RC" -eq 0 ] && [ "$(echo "$bk" | wc -w)" -eq 1 ] &&
	    grep -q "^$bk" "$OUT"; then
		pass "$rt_tag-list"
	else
		fail "$rt_tag-list" "exit $RC, backup dir \"$bk\", listed: $(head -n 3 "$OUT" | tr '\n' ' ')"
	fi

	run "$KRESCUE" rollback --root "$rt"
	if [ "$RC" -ne 0 ]; then
		fail "$rt_tag-rollback" "exit $RC, want 0 ($(why_err))"
		return
	fi
	if [ "$(hash_node "$rt")" = "$h0" ]; then
		pass "$rt_tag-rollback-byte-for-byte"
	else
		fail "$rt_tag-rollback-byte-for-byte" "differs: $(differs "$rt_orig" "$rt")"
	fi
	if [ "$(readlink "$rt$KPEM")" = "$old_link" ] && [ ! -e "$rt$new_link" ] &&
	    [ ! -L "$rt$new_link" ]; then
		pass "$rt_tag-kubelet-link-restored"
	else
		fail "$rt_tag-kubelet-link-restored" "link -> $(readlink "$rt$KPEM"), want $old_link; $new_link $( [ -e "$rt$new_link" ] && echo 'still there' || echo removed)"
	fi
	expect_exit 0 "$rt_tag-check-expired-again" sh -c \
	    '"$1" check --root "$2" >/dev/null; [ $? -eq 3 ]' sh "$KRESCUE" "$rt"
}

K28O=$TMP/k28.orig
mktree kubeadm "$K28O" --version 1.28.4 --expired --kubelet-finalize
roundtrip k28 "$K28O"

KSO=$TMP/ks.orig
mktree kubespray "$KSO" --expired
roundtrip ks "$KSO"

# two renewals, then two rollbacks: back to the first renewal's result,
# then to the original
T=$TMP/twice
cp -a "$K28O" "$T"
h0=$(hash_node "$T")
"$KRESCUE" renew --root "$T" >/dev/null 2>&1
h1=$(hash_node "$T")
sleep 1			# backups are named by the second
"$KRESCUE" renew --root "$T" >/dev/null 2>&1
n=$(ls "$T/var/lib/krescue/backup" | wc -l)
run "$KRESCUE" rollback --root "$T"
ra=$RC
ha=$(hash_node "$T")
run "$KRESCUE" rollback --root "$T" "$(ls "$T/var/lib/krescue/backup" | sort | head -n 1)"
rb=$RC
if [ "$n" -lt 2 ]; then
	fail rollback-twice "$n backups after two renewals, want 2"
elif [ "$ra" -ne 0 ] || [ "$ha" != "$h1" ]; then
	fail rollback-twice "newest rollback: exit $ra, back at the first renewal: $([ "$ha" = "$h1" ] && echo yes || echo no)"
elif [ "$rb" -ne 0 ] || [ "$(hash_node "$T")" != "$h0" ]; then
	fail rollback-twice "rollback of the first backup by name: exit $rb ($(why_err)), back at the original: $([ "$(hash_node "$T")" = "$h0" ] && echo yes || echo no)"
else
	pass rollback-twice
fi

# --- must-fail ------------------------------------------------------------
# refuse NAME ROOT WORD: rollback exits 1, says WORD, changes nothing
refuse() {
	rf_h=$(tree_hash "$2")
	run "$KRESCUE" rollback --root "$2"
	if [ "$RC" -ne 1 ]; then
		fail "$1" "exit $RC, want 1 ($(why_err))"
	elif [ "$(tree_hash "$2")" != "$rf_h" ]; then
		fail "$1" "exit 1 but the tree changed"
	elif ! grep -qi -e "$3" "$ERR"; then
		fail "$1" "no \"$3\" in the message: $(why_err)"
	else
		pass "$1"
	fi
}

# one byte of a backup copy altered
C=$TMP/corrupt
cp -a "$K28O" "$C"
"$KRESCUE" renew --root "$C" >/dev/null 2>&1
B=$C/var/lib/krescue/backup/$(ls "$C/var/lib/krescue/backup")
idx=$(awk '$1 == "file" && $7 == "/etc/kubernetes/pki/apiserver.crt" { print $6 }' "$B/manifest")
if [ -z "$idx" ] || [ ! -f "$B/$idx" ]; then
	fail rollback-corrupt-backup "apiserver.crt not found in $B/manifest"
else
	chmod u+w "$B/$idx"
	# flip one base64 letter in the middle of the PEM
	$PYTHON - "$B/$idx" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
i = len(b) // 2
while b[i] in b"\n-":
    i += 1
b[i] = ord("A") if b[i] != ord("A") else ord("B")
open(p, "wb").write(bytes(b))
PY
	refuse rollback-corrupt-backup "$C" 'corrupt\|damaged\|checksum\|sha256\|hash'
fi

# a corrupt manifest line (a changed hash)
M=$TMP/manifest
cp -a "$K28O" "$M"
"$KRESCUE" renew --root "$M" >/dev/null 2>&1
B=$M/var/lib/krescue/backup/$(ls "$M/var/lib/krescue/backup")
sed -i '/ \/etc\/kubernetes\/admin.conf$/s/ [0-9a-f]\{64\} / 0000000000000000000000000000000000000000000000000000000000000000 /' "$B/manifest"
refuse rollback-corrupt-manifest "$M" 'corrupt\|damaged\|checksum\|sha256\|hash\|manifest\|complete'

# nothing to roll back to
N=$TMP/none
cp -a "$K28O" "$N"
refuse rollback-no-backup "$N" 'backup'

# another krescue holds the lock
L=$TMP/locked
cp -a "$K28O" "$L"
"$KRESCUE" renew --root "$L" >/dev/null 2>&1
rm -f "$TMP/.locked"
flock "$L/var/lib/krescue/lock" sh -c ": >'$TMP/.locked'; sleep 30" &
LOCKPID=$!
i=0
while [ ! -f "$TMP/.locked" ] && [ "$i" -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -f "$TMP/.locked" ]; then
	refuse rollback-lock-held "$L" 'lock\|another krescue'
else
	fail rollback-lock-held "could not take the lock with flock within 10s"
fi
kill "$LOCKPID" 2>/dev/null
pkill -P "$LOCKPID" 2>/dev/null
wait "$LOCKPID" 2>/dev/null
LOCKPID=

expect_exit 100 rollback-usage "$KRESCUE" rollback --root "$L" --no-such-option

finish
